import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { REPO_ROOT } from "../../lib/data/registry.ts";
import { fastSample, type FastSampleConfig } from "../../lib/distill/fast-sample.ts";
import type { SampleJob } from "../../lib/distill/sample-worker.ts";
import { type BlockFactorJob, factorBlockInverse } from "../../lib/linalg/block-factor.ts";
import { buildCli } from "../../scripts/build.ts";
import { lcg } from "../helpers.ts";

// Inside the repository, as dist/ is: the bundle finds node_modules and data/ by walking up.
const OUT = join(REPO_ROOT, "tmp", `build-test-${process.pid}`);

before(async () => {
  mkdirSync(OUT, { recursive: true });
  await buildCli(OUT);
});
after(() => rmSync(OUT, { recursive: true, force: true }));

/** Runs the built CLI in a plain Node (no tsx); also reports whether onnx-proto was loaded. */
function builtCli(...args: string[]) {
  const code = `import { createRequire } from "node:module";
const { runCli } = await import(${JSON.stringify(pathToFileURL(join(OUT, "cli.js")).href)});
process.exitCode = await runCli(process.argv.slice(1));
const loaded = Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes("/onnx-proto/"));
console.error("onnx-proto loaded: " + loaded);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code, "--", ...args], { encoding: "utf8", cwd: OUT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("the build writes the CLI and its three workers", () => {
  for (const f of ["cli.js", "sample-worker.js", "block-factor-worker.js", "item-gram-worker.js"]) assert.ok(existsSync(join(OUT, f)), f);
});

test("the built block-factor worker runs without a TypeScript loader and matches the in-thread factor exactly", async () => {
  const b = 70;
  const rng = lcg(4);
  const x = Array.from({ length: b * (b + 5) }, () => rng() - 0.5);
  const block = new Float32Array(b * b);
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) for (let p = 0; p < b + 5; p++) block[i * b + j] += x[i * (b + 5) + p] * x[j * (b + 5) + p];
  const diagonal = Float64Array.from({ length: b }, (_, i) => block[i * b + i] + 0.5);
  const job: BlockFactorJob = { block, b, j0: 0, shift: 0.5, diagonal, minPivotRatio: 1e-5 };
  const worker = new Worker(new URL(pathToFileURL(join(OUT, "block-factor-worker.js"))), { execArgv: [] });
  try {
    const reply = await new Promise<{ ok: boolean; inverse: Float32Array | null; error?: string }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.postMessage(job);
    });
    assert.equal(reply.ok, true, reply.error);
    assert.deepEqual(Array.from(reply.inverse!), Array.from(factorBlockInverse(job).inverse!));
  } finally {
    await worker.terminate();
  }
});

test("the built CLI answers --version and --help without loading onnx-proto", () => {
  const v = builtCli("--version");
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^infrec\/\d+\.\d+\.\d+/);
  const h = builtCli("--help");
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /evaluate/);
  for (const r of [v, h]) assert.match(r.stderr, /onnx-proto loaded: false/);
});

test("the built CLI finds the embedded Magazine data beside the package", () => {
  const r = builtCli("datasets", "--dataset", "magazine", "--json");
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual([s.users, s.items], [3092, 1305]);
});

test("the built sampling worker runs without a TypeScript loader and matches the in-thread sampler", async () => {
  const mu = 3;
  const items = 7;
  const cfg: FastSampleConfig = { gamma: 4, tau: 0.7, seed: 5, step: 2 };
  const sharedF64 = (n: number) => new Float64Array(new SharedArrayBuffer(8 * n));
  const logits = sharedF64(mu * items);
  for (let i = 0; i < logits.length; i++) logits[i] = Math.sin(i + 1);
  const buffers = { logits, support: sharedF64(mu * items), summed: sharedF64(mu * items), weights: sharedF64(mu * items), partition: sharedF64(mu * cfg.gamma) };
  const job: SampleJob = {
    kind: "forward", mu, items, cfg, r0: 0, r1: mu,
    buffers: Object.fromEntries(Object.entries(buffers).map(([k, v]) => [k, v.buffer as SharedArrayBuffer])),
  };
  const worker = new Worker(new URL(pathToFileURL(join(OUT, "sample-worker.js"))), { execArgv: [] });
  try {
    const reply = await new Promise<{ ok: boolean; error?: string }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.postMessage(job);
    });
    assert.deepEqual(reply, { ok: true });
  } finally {
    await worker.terminate();
  }
  const expected = fastSample(Float64Array.from(logits), mu, items, cfg);
  assert.deepEqual(Array.from(buffers.support), Array.from(expected.support));
  assert.deepEqual(Array.from(buffers.partition), Array.from(expected.partition));
});
