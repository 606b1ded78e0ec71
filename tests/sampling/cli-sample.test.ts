/**
 * `infrec sample` and `infrec noise` (lib/cli/sample.ts) through a cac
 * instance: they write saved splits that loadDataFile reads back with only
 * the training rows changed, and bad flags fail with one-line errors naming
 * the flag.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { cac } from "cac";
import { noiseCommand, parseSampleFlags, registerSampleCommands, sampleCommand } from "../../lib/cli/sample.ts";
import { UsageError } from "../../lib/cli/common.ts";
import { loadDataFile } from "../../lib/data/load-file.ts";
import { saveSplit } from "../../lib/data/split.ts";
import { withTempDir } from "../helpers.ts";
import { plantedDataset } from "../models/synthetic.ts";

const ds = plantedDataset(80, 40, 4, 12, 9);

async function run(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const cli = cac("infrec");
  registerSampleCommands(cli, (l) => lines.push(l));
  cli.parse(["node", "infrec", ...args], { run: false });
  await cli.runMatchedCommand();
  return lines;
}

test("sample writes a split with the kept users' training rows; validation and test unchanged", async () => {
  await withTempDir(async (dir) => {
    const data = join(dir, "planted.split");
    saveSplit(ds, data);
    const out = join(dir, "sampled.split");
    const lines = await run(["sample", "--sampler", "user-random", "--budget", "25", "--data", data, "--out", out, "--json"]);
    const report = JSON.parse(lines.join("\n"));
    assert.equal(report.keptUsers, 25);
    const back = await loadDataFile(out);
    assert.deepEqual(back.validation.indices, ds.validation.indices);
    assert.deepEqual(back.test.indices, ds.test.indices);
    assert.deepEqual(back.userIds, ds.userIds);
    let kept = 0;
    for (let u = 0; u < 80; u++) {
      if (back.train.rowNnz(u) === 0) continue;
      kept++;
      assert.deepEqual(back.train.rowItems(u), ds.train.rowItems(u));
    }
    assert.equal(kept, 25);
    assert.equal(back.train.nnz, report.keptInteractions);
    // 10% keeps exactly round(0.1 · nnz) entries with interaction RNS; same seed, same file.
    const outB = join(dir, "b.split");
    await run(["sample", "--sampler", "interaction-random", "--budget", "10%", "--data", data, "--out", outB]);
    assert.equal((await loadDataFile(outB)).train.nnz, Math.round(0.1 * ds.train.nnz));
    const r1 = await sampleCommand({ sampler: "head-user", budget: "50%", data, out: join(dir, "c.split"), seed: 3 });
    const r2 = await sampleCommand({ sampler: "head-user", budget: "50%", data, out: join(dir, "d.split"), seed: 3 });
    assert.deepEqual((await loadDataFile(join(dir, "c.split"))).train, (await loadDataFile(join(dir, "d.split"))).train);
    assert.ok(r1.keptInteractions <= Math.round(0.5 * ds.train.nnz) && r1.keptInteractions === r2.keptInteractions);
  });
});

test("noise writes a split with exactly round(level% · items) flips per user in train only", async () => {
  await withTempDir(async (dir) => {
    const data = join(dir, "planted.split");
    saveSplit(ds, data);
    const out = join(dir, "noisy.split");
    const lines = await run(["noise", "--level", "5", "--data", data, "--out", out]);
    assert.match(lines[0], /^5% noise: 2 flips per user/);
    const back = await loadDataFile(out);
    assert.deepEqual(back.validation.indices, ds.validation.indices);
    assert.deepEqual(back.test.indices, ds.test.indices);
    for (let u = 0; u < 80; u++) {
      const a = new Set(ds.train.rowItems(u));
      const b = new Set(back.train.rowItems(u));
      const diff = [...a].filter((i) => !b.has(i)).length + [...b].filter((i) => !a.has(i)).length;
      assert.equal(diff, 2);
    }
  });
});

test("bad flags fail with errors naming the flag", async () => {
  const base = { out: "x.split", budget: "10%", sampler: "user-random" };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...base, sampler: "random" }, /^unknown sampler 'random' \(known: interaction-random, user-random, head-user, svp-cf-user, distill-cf\)$/],
    [{ ...base, sampler: undefined }, /--sampler is required/],
    [{ ...base, sampler: "distill-cf" }, /use `infrec distill/],
    [{ ...base, budget: "lots" }, /^--budget: bad budget 'lots'/],
    [{ ...base, budget: "150%" }, /^--budget: budget '150%' must be a percentage in \(0, 100\]/],
    [{ ...base, budget: undefined }, /--budget is required/],
    [{ ...base, out: undefined }, /--out FILE is required/],
    [{ ...base, seed: -2 }, /--seed must be an integer/],
  ];
  for (const [flags, re] of cases) {
    assert.throws(() => parseSampleFlags(flags), (e: unknown) => e instanceof UsageError && re.test(e.message) && !e.message.includes("\n"), JSON.stringify(flags));
  }
  await withTempDir(async (dir) => {
    const data = join(dir, "planted.split");
    saveSplit(ds, data);
    await assert.rejects(sampleCommand({ ...base, budget: "500", data, out: join(dir, "o.split") }), (e: unknown) => e instanceof UsageError && /^--budget: user budget 500 exceeds the 80 users/.test(e.message));
    for (const level of ["-1", "abc", "101", ""]) {
      await assert.rejects(noiseCommand({ level, data, out: join(dir, "n.split") }), /--level must be a percentage in \[0, 100\]/, level);
    }
    await assert.rejects(noiseCommand({ data, out: join(dir, "n.split") }), /--level is required/);
    await assert.rejects(noiseCommand({ level: 2, data }), /--out FILE is required/);
  });
});
