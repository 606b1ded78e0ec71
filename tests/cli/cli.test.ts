import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { writeFileSync } from "node:fs";
import { REPO_ROOT } from "../../lib/data/registry.ts";
import { withTempDir } from "../helpers.ts";

const BIN = join(REPO_ROOT, "bin", "infrec.js");

function infrec(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: REPO_ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("datasets reports the embedded Magazine copy as JSON", () => {
  const r = infrec("datasets", "--dataset", "magazine", "--json");
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual([s.users, s.items, s.train, s.validation, s.test], [3092, 1305, 5984, 436, 6269]);
});

test("evaluate --model pop --json prints the test metrics", () => {
  const r = infrec("evaluate", "--model", "pop", "--dataset", "magazine", "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.split, "test");
  assert.ok(Math.abs(out.metrics["HR@10"] - 14.01) < 0.05);
});

test("evaluate --engine device: the host engine's λ and metrics (Magazine ∞-AE: λ 20, NDCG@10 22.13) in a few dozen ORT runs", () => {
  const r = infrec("evaluate", "--model", "inf-ae", "--dataset", "magazine", "--engine", "device", "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.hyperParameters.lambda, 20);
  // The host engine's numbers on this split (README): NDCG@10 22.128, HR@10 25.566.
  assert.ok(Math.abs(out.metrics["NDCG@10"] - 22.128) < 0.01, String(out.metrics["NDCG@10"]));
  assert.ok(Math.abs(out.metrics["HR@10"] - 25.566) < 0.01, String(out.metrics["HR@10"]));
  // Gram, the first diagonal block, 12 factor steps of two runs (panel, trailing update), solve,
  // 6 validation and 1 test ranking = 34 (host engine: 306).
  assert.equal(out.onnx.runs, 34);
  assert.ok(out.onnx.hostToDeviceMB < 100, `uploaded ${out.onnx.hostToDeviceMB} MB`);
});

test("bad input exits non-zero with one line naming the problem", () => {
  const cases: [string[], RegExp][] = [
    [["evaluate", "--model", "nope", "--dataset", "magazine"], /unknown model 'nope'/],
    [["evaluate", "--dataset", "no-such-set"], /dataset 'no-such-set' not found \(looked in/],
    [["evaluate", "--dataset", "magazine", "--split", "train"], /--split must be 'val' or 'test'/],
    [["evaluate", "--dataset", "magazine", "--ties", "first"], /--ties must be 'index' or 'random', got 'first'/],
    [["evaluate", "--dataset", "magazine", "--bogus"], /Unknown option `--bogus`/],
    [["evaluate", "--dataset", "magazine", "--duplicates", "max"], /--duplicates must be/],
    [["evaluate", "--dataset", "magazine", "--engine", "gpu"], /--engine must be auto, host or device, got 'gpu'/],
    [["evaluate"], /name a dataset with --dataset/],
    [["frobnicate"], /unknown command 'frobnicate'/],
  ];
  for (const [args, msg] of cases) {
    const r = infrec(...args);
    assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[0], /^infrec: /);
    assert.match(lines[0], msg);
  }
});

test("inputs that used to be silently wrong or misleading: one line, exit code 2, before any long work", () => {
  withTempDir((dir) => {
    const cases: [string[], RegExp][] = [
      [["evaluate", "--model", "pop", "--dataset", "magazine", "--data-dir", join(dir, "nope")], /--data-dir .*nope: no such folder/],
      [["datasets", "--data", join(dir, "x.csv"), "--format", "xml"], /--format must be one of auto, paper, split, movielens, csv, tsv, recbole, netflix, parquet, got 'xml'/],
      [["sample", "--sampler", "user-random", "--budget", "-5", "--dataset", "magazine", "--out", join(dir, "s.split")], /--budget must not be negative, got '-5'/],
      [["evaluate", "--model", "pop", "--dataset", "magazine", "--device", "cuda"], /--device cuda: model 'pop' runs no ONNX graphs/],
      [["fit", "--model", "inf-ae", "--dataset", "magazine", "--support", "99999"], /--support 99999 exceeds the 3092 users of the training matrix/],
      [["fit", "--model", "inf-ae", "--dataset", "magazine", "--out", dir], /--out .* is a folder, not a file/],
      [["fit", "--model", "inf-ae", "--dataset", "magazine", "--out", join(dir, "no", "such", "m.infrec")], /--out .*: folder .* does not exist/],
      [["recommend", "--model", dir, "--items", "1"], /--model .* is a folder, not an artifact file/],
      [["recommend", "--model", join(dir, "m.infrec"), "--items", ""], /give the user's items with --items/],
      [["distill", "--dataset", "magazine", "--budget", "10", "--out", join(dir, "no", "s.infrec-summary")], /--out .*: folder .* does not exist/],
    ];
    for (const [args, msg] of cases) {
      const t0 = Date.now();
      const r = infrec(...args);
      const lines = r.stderr.trim().split("\n");
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}, ${r.stderr}`);
      assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
      assert.match(lines[0], msg);
      assert.ok(Date.now() - t0 < 20_000, `${args.join(" ")} failed only after ${Date.now() - t0} ms`);
    }
  });
});

test("recommend keeps item ids as typed strings (00088 is not 88)", () => {
  withTempDir((dir) => {
    const model = join(dir, "m.infrec");
    const fit = infrec("fit", "--model", "inf-ae", "--dataset", "magazine", "--lambda", "20", "--out", model, "--json");
    assert.equal(fit.code, 0, fit.stderr);
    const r = infrec("recommend", "--model", model, "--items", "00088", "--json");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /none of the items is known to the model: 00088/);
  });
});

test("--help works on every command", () => {
  for (const cmd of [[], ["datasets"], ["evaluate"]]) {
    const r = infrec(...cmd, "--help");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage:/);
  }
});

test("datasets --data reads a raw log and splits it", () => {
  withTempDir((dir) => {
    const rows = ["user,item,rating"];
    for (let u = 0; u < 20; u++) for (let i = 0; i < 10; i++) if ((u + i) % 3 !== 0) rows.push(`u${u},i${i},${1 + ((u * i) % 5)}`);
    const path = join(dir, "log.csv");
    writeFileSync(path, rows.join("\n") + "\n");
    const r = infrec("datasets", "--data", path, "--json");
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.users, 20);
    assert.equal(s.items, 10);
    assert.equal(s.train + s.validation + s.test, rows.length - 1);
    const ev = infrec("evaluate", "--data", path, "--model", "pop", "--json");
    assert.equal(ev.code, 0, ev.stderr);
    assert.ok(JSON.parse(ev.stdout).metrics["HR@10"] >= 0);
  });
  const bad = infrec("datasets", "--data", join(REPO_ROOT, "tests", "fixtures", "data", "ratings.csv"), "--format", "xml");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--format must be one of .*, got 'xml'/);
  const missing = infrec("datasets", "--data", "/nonexistent/file.csv");
  assert.match(missing.stderr, /missing file: \/nonexistent\/file\.csv/);
});
