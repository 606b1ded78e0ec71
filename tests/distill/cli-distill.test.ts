/**
 * `infrec distill` (lib/cli/distill.ts) through a cac instance: flag
 * validation errors name the flag; a short run writes the summary and CSV,
 * prints JSON log lines; an abort writes the best summary so far and fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cac } from "cac";
import { DistillInterrupted, distillCommand, parseDistillFlags, registerDistillCommand } from "../../lib/cli/distill.ts";
import { loadSummary } from "../../lib/distill/summary.ts";

function plantedCsv(path: string): void {
  const lines = ["user,item"];
  for (let u = 0; u < 40; u++) {
    for (let k = 0; k < 8; k++) lines.push(`u${u},i${(u % 4) * 5 + ((u * 7 + k * 3) % 5) + (k === 7 ? 1 : 0)}`);
  }
  writeFileSync(path, lines.join("\n") + "\n");
}

test("flag validation: one-line errors naming the flag", () => {
  const base = { out: "x.infrec-summary" };
  assert.throws(() => parseDistillFlags({}), /--out PATH is required/);
  assert.throws(() => parseDistillFlags({ ...base, budget: "abc" }), /--budget must be a positive integer.*got 'abc'/);
  assert.throws(() => parseDistillFlags({ ...base, budget: 2.5 }), /--budget/);
  assert.throws(() => parseDistillFlags({ ...base, tau: 0 }), /--tau must be a number > 0, got '0'/);
  assert.throws(() => parseDistillFlags({ ...base, cardReg: -1 }), /--card-reg must be a number ≥ 0/);
  assert.throws(() => parseDistillFlags({ ...base, samples: "" }), /--samples/);
  assert.throws(() => parseDistillFlags({ ...base, lr: "fast" }), /--lr must be a number > 0, got 'fast'/);
  assert.throws(() => parseDistillFlags({ ...base, steps: -3 }), /--steps/);
  assert.throws(() => parseDistillFlags({ ...base, batch: 0 }), /--batch must be a positive integer/);
  assert.throws(() => parseDistillFlags({ ...base, seed: -1 }), /--seed must be an integer in \[0, 2\^32\)/);
  assert.throws(() => parseDistillFlags({ ...base, device: "tpu" }), /--device must be one of/);
  const ok = parseDistillFlags({ ...base, budget: "7", tau: "0.5", batch: "12" });
  assert.equal(ok.options.mu, 7);
  assert.equal(ok.options.tau, 0.5);
  assert.equal(ok.options.batchSize, 12);
  assert.equal(ok.options.gamma, 200);
  assert.equal(ok.options.initialLambda, 0.1);
  assert.equal(parseDistillFlags({ ...base, initialLambda: "validated" }).options.initialLambda, "validated");
  assert.equal(parseDistillFlags({ ...base, initialLambda: "0.1" }).options.initialLambda, 0.1);
  assert.equal(parseDistillFlags({ ...base, validateEvery: "5" }).options.validateEvery, 5);
  assert.equal(parseDistillFlags(base).options.validateEvery, null);
  assert.throws(() => parseDistillFlags({ ...base, validateEvery: "0" }), /--validate-every must be a positive integer/);
  assert.throws(() => parseDistillFlags({ ...base, initialLambda: "auto" }), /--initial-lambda must be a number ≥ 0 or 'validated', got 'auto'/);
  // --workers: a count, or auto (left to distillCommand: one per core, at most MAX_AUTO_WORKERS)
  assert.equal(parseDistillFlags({ ...base, workers: "3" }).options.samplingWorkers, 3);
  assert.equal(parseDistillFlags({ ...base, workers: "0" }).options.samplingWorkers, 0);
  assert.equal(parseDistillFlags({ ...base, workers: "auto" }).options.samplingWorkers, undefined);
  assert.equal(parseDistillFlags(base).options.samplingWorkers, undefined);
  assert.throws(() => parseDistillFlags({ ...base, workers: "many" }), /--workers must be an integer ≥ 0 or auto, got 'many'/);
  assert.throws(() => parseDistillFlags({ ...base, workers: -1 }), /--workers/);
});

test("registerDistillCommand: a short run writes the summary and CSV and prints JSON lines", async () => {
  const dir = mkdtempSync(join(tmpdir(), "infrec-distill-"));
  const data = join(dir, "planted.csv");
  plantedCsv(data);
  const out = join(dir, "s.infrec-summary");
  const csv = join(dir, "s.csv");
  const written: string[] = [];
  try {
    const cli = cac("infrec");
    registerDistillCommand(cli, (line) => written.push(line));
    cli.parse(["node", "infrec", "distill", "--data", data, "--budget", "5", "--samples", "3", "--steps", "3", "--workers", "0", "--out", out, "--csv", csv, "--json"], { run: false });
    assert.equal(cli.matchedCommand?.name, "distill");
    await cli.runMatchedCommand();
    const entries = written.map((l) => JSON.parse(l) as { type: string; step: number });
    assert.deepEqual(entries.map((e) => e.type), ["step", "step", "step", "stop"]);
    const s = loadSummary(out);
    assert.equal(s.header.mu, 5);
    assert.equal(s.header.gamma, 3);
    const lines = readFileSync(csv, "utf8").trim().split("\n");
    assert.equal(lines[0], "fake_user,item,weight");
    let nonzero = 0;
    for (const v of s.values) if (v !== 0) nonzero++;
    assert.equal(lines.length - 1, nonzero);
    assert.match(lines[1], /^0,i\d+,[0-9.e-]+$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an aborted run writes the best summary so far and throws DistillInterrupted", async () => {
  const dir = mkdtempSync(join(tmpdir(), "infrec-distill-"));
  try {
    const data = join(dir, "planted.csv");
    plantedCsv(data);
    const out = join(dir, "s.infrec-summary");
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      distillCommand({ data, budget: 4, samples: 2, steps: 50, workers: 0, out }, controller.signal),
      (e: unknown) => e instanceof DistillInterrupted && /interrupted after 0 steps; the best summary so far is in/.test(e.message),
    );
    assert.equal(loadSummary(out).header.mu, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a second Ctrl-C stops at once with one line, exit 130 and no summary written", async () => {
  const { spawn } = await import("node:child_process");
  const { existsSync } = await import("node:fs");
  const { REPO_ROOT } = await import("../../lib/data/registry.ts");
  const dir = mkdtempSync(join(tmpdir(), "infrec-distill-sigint-"));
  try {
    const out = join(dir, "s.infrec-summary");
    // Magazine's steps take long enough that the second Ctrl-C lands while the first is being honoured.
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin", "infrec.js"), "distill", "--dataset", "magazine", "--budget", "300", "--steps", "100000", "--out", out], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    const started = new Promise<void>((resolve) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes("step ")) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await started;
    child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    const code = await exited;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted again: stopping now without writing .*s\.infrec-summary/);
    assert.ok(!existsSync(out), "no summary was written");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
