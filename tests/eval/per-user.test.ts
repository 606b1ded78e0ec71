import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { PerUserMetrics } from "../../lib/eval/evaluate.ts";
import { formatPerUser, perUserFormat, selectPerUserColumns, writePerUser } from "../../lib/eval/per-user.ts";
import { withTempDir } from "../helpers.ts";

const rows: PerUserMetrics = {
  users: Int32Array.from([0, 2]),
  targets: Int32Array.from([3, 1]),
  values: { AUC: Float64Array.from([0.75, NaN]), "HR@10": Float64Array.from([50, 100]) },
};
const ids = ["u0", 'say "hi", bye', "u2"];

test("the extension picks the format", () => {
  assert.equal(perUserFormat("a/b.CSV"), "csv");
  assert.equal(perUserFormat("rows.jsonl"), "jsonl");
  assert.equal(perUserFormat("rows.ndjson"), "jsonl");
  assert.throws(() => perUserFormat("rows.json"), /unknown extension '.json' \(use .csv, .jsonl or .ndjson\)/);
});

test("CSV and JSON Lines rows: original ids, target counts, NaN as empty / null", () => {
  const idsWithComma = ["u,0", "x", "u2"];
  assert.equal(formatPerUser(rows, idsWithComma, "csv"), 'user,targets,AUC,HR@10\n"u,0",3,0.75,50\nu2,1,,100\n');
  assert.equal(formatPerUser(rows, ids, "jsonl"), '{"user":"u0","targets":3,"AUC":0.75,"HR@10":50}\n{"user":"u2","targets":1,"AUC":null,"HR@10":100}\n');
  assert.deepEqual(Object.keys(selectPerUserColumns(rows, (k) => k !== "AUC").values), ["HR@10"]);
});

test("writePerUser leaves only the finished file behind", () => {
  withTempDir((dir) => {
    const path = join(dir, "rows.csv");
    writePerUser(path, rows, ids);
    assert.deepEqual(readdirSync(dir), ["rows.csv"]);
    assert.equal(readFileSync(path, "utf8").split("\n")[0], "user,targets,AUC,HR@10");
    assert.throws(() => writePerUser(join(dir, "rows.txt"), rows, ids), /unknown extension/);
    assert.deepEqual(readdirSync(dir), ["rows.csv"]);
  });
});
