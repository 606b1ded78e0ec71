/** Summary files: round trip, atomic write, clear errors on damage, CSV and matrix views. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  crc32,
  decodeSummary,
  denseRowsToMatrix,
  encodeSummary,
  loadSummary,
  makeSummary,
  readSummaryMatrix,
  saveSummary,
  saveSummaryCsv,
  summaryToCsv,
  summaryToMatrix,
  SUMMARY_FORMAT_VERSION,
} from "../../lib/distill/summary.ts";

function sample() {
  const values = [0, 0.25, 1, 0, 0.5, 0, 0.125, 0, 0.75];
  return makeSummary(
    { dataset: "toy", mu: 3, items: 3, itemIds: ["i10", "i,20", "i30"], lambda: 0.1, tau: 10, gamma: 200, seed: 42, step: 25, score: 7.5 },
    values,
  );
}

test("crc32 matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

test("save/load round trip keeps values and header; the write is atomic (no temp files left)", () => {
  const dir = mkdtempSync(join(tmpdir(), "infrec-summary-"));
  try {
    const path = join(dir, "s.infrec-summary");
    const s = sample();
    saveSummary(path, s);
    assert.deepEqual(readdirSync(dir), ["s.infrec-summary"]);
    const back = loadSummary(path);
    assert.deepEqual(back.header, s.header);
    assert.deepEqual(Array.from(back.values), [0, 0.25, 1, 0, 0.5, 0, 0.125, 0, 0.75]);
    assert.equal(back.header.formatVersion, SUMMARY_FORMAT_VERSION);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("damaged files fail with an error naming the problem", () => {
  const bytes = encodeSummary(sample());
  assert.throws(() => decodeSummary(bytes.subarray(0, bytes.length - 3), "f"), /f: truncated \(33 of 36 value bytes\)/);
  assert.throws(() => decodeSummary(bytes.subarray(0, 30), "f"), /truncated header/);
  const flipped = bytes.slice();
  flipped[flipped.length - 1] ^= 0x40;
  assert.throws(() => decodeSummary(flipped, "f"), /checksum mismatch.*corrupt/);
  const badMagic = bytes.slice();
  badMagic[0] = 0x58;
  assert.throws(() => decodeSummary(badMagic, "f"), /not an infrec summary/);
  const extra = new Uint8Array(bytes.length + 4);
  extra.set(bytes);
  assert.throws(() => decodeSummary(extra, "f"), /4 unexpected trailing bytes/);
  const text = new TextDecoder().decode(bytes.subarray(20));
  const brokenHeader = bytes.slice();
  brokenHeader[20] = 0x7b + 1; // '{' → '|'
  assert.throws(() => decodeSummary(brokenHeader, "f"), /corrupt header/);
  assert.ok(text.startsWith("{"));
  const s = sample();
  const v2 = encodeSummary({ ...s, header: { ...s.header, formatVersion: 9 } });
  assert.throws(() => decodeSummary(v2, "f"), /format version 9 is not supported/);
});

test("makeSummary rejects values outside [0, 1] and shape mismatches", () => {
  const h = { dataset: "toy", mu: 1, items: 2, itemIds: ["a", "b"], lambda: 1, tau: 10, gamma: 2, seed: 1, step: 0, score: null };
  assert.throws(() => makeSummary(h, [0.5, 1.5]), /value 1.5 at row 0, item 1 is outside \[0, 1\]/);
  assert.throws(() => makeSummary(h, [0.5, Number.NaN]), /outside/);
  assert.throws(() => makeSummary(h, [0.5]), /1 values, expected 1×2/);
  assert.throws(() => makeSummary({ ...h, itemIds: ["a"] }, [0, 0]), /1 item ids for 2 items/);
});

test("CSV: fake_user,item,weight with original item ids (quoted when needed), zeros skipped", () => {
  const csv = summaryToCsv(sample());
  assert.equal(csv, 'fake_user,item,weight\n0,"i,20",0.25\n0,i30,1\n1,"i,20",0.5\n2,i10,0.125\n2,i30,0.75\n');
  const dir = mkdtempSync(join(tmpdir(), "infrec-summary-"));
  try {
    const path = join(dir, "s.csv");
    saveSummaryCsv(path, sample());
    assert.equal(readFileSync(path, "utf8"), csv);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("denseRowsToMatrix keeps the non-zero entries and checks the shape", () => {
  const m = denseRowsToMatrix(new Float64Array([0.5, 0, 1, 0, 0, 0.25]), 2, 3);
  assert.equal(m.nnz, 3);
  assert.deepEqual([...m.rowItems(0)], [0, 2]);
  assert.deepEqual([...m.rowValues(1)], [0.25]);
  assert.throws(() => denseRowsToMatrix(new Float64Array(5), 2, 3), /denseRowsToMatrix: 5 values, expected 2×3/);
});

test("summaryToMatrix gives weighted rows; readSummaryMatrix returns null for other files and throws on corrupt summaries", async () => {
  const m = summaryToMatrix(sample());
  assert.equal(m.numUsers, 3);
  assert.equal(m.numItems, 3);
  assert.deepEqual(Array.from(m.rowItems(0)), [1, 2]);
  assert.deepEqual(Array.from(m.rowValues(2)), [0.125, 0.75]);
  const dir = mkdtempSync(join(tmpdir(), "infrec-summary-"));
  try {
    const other = join(dir, "x.csv");
    writeFileSync(other, "user,item\n1,2\n");
    assert.equal(await readSummaryMatrix(other), null);
    const path = join(dir, "s.infrec-summary");
    saveSummary(path, sample());
    const got = await readSummaryMatrix(path);
    assert.ok(got);
    assert.deepEqual(got.itemIds, ["i10", "i,20", "i30"]);
    assert.equal(got.matrix.nnz, 5);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 1));
    await assert.rejects(readSummaryMatrix(path), /truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("format 2 checksums the header: a changed header value is refused; format 1 files still load", () => {
  const s = makeSummary({ dataset: "toy", mu: 2, items: 3, itemIds: ["a", "b", "c"], lambda: 1, tau: 10, gamma: 2, seed: 1, step: 0, score: null }, [0, 0.5, 1, 0.25, 0, 1]);
  const bytes = encodeSummary(s);
  const text = new TextDecoder().decode(bytes);
  // A value in the header changed (a flipped bit that keeps the JSON valid): "seed":1 → "seed":3.
  const at = text.indexOf('"seed":1') + '"seed":'.length;
  const flipped = bytes.slice();
  flipped[at] ^= 0x02;
  assert.equal(new TextDecoder().decode(flipped).slice(at - 7, at + 1), '"seed":3');
  assert.throws(() => decodeSummary(flipped, "f"), /f: header checksum mismatch .*the file is corrupt/);
  // Format 1 (values-only checksum), as older infrec wrote it.
  const { headerChecksum: _h, ...v1Header } = { ...decodeSummary(bytes).header, formatVersion: 1 };
  const json = new TextEncoder().encode(JSON.stringify(v1Header));
  const magic = bytes.subarray(0, 16);
  const v1 = new Uint8Array(20 + json.length + 24);
  v1.set(magic, 0);
  new DataView(v1.buffer).setUint32(16, json.length, true);
  v1.set(json, 20);
  v1.set(new Uint8Array(s.values.buffer, s.values.byteOffset, 24), 20 + json.length);
  assert.deepEqual([...decodeSummary(v1, "old").values], [...s.values]);
});

test("summaries reject repeated item ids, naming the id", () => {
  assert.throws(
    () => makeSummary({ dataset: "toy", mu: 1, items: 3, itemIds: ["a", "b", "a"], lambda: 1, tau: 10, gamma: 2, seed: 1, step: 0, score: null }, [0, 0, 0]),
    /summary: item id 'a' appears more than once/,
  );
});
