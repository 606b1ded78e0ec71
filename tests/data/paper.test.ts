import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { zipSync } from "fflate";
import { datasetStats } from "../../lib/data/dataset.ts";
import { parseNpy, parseNpz } from "../../lib/data/npy.ts";
import { loadPaperDataset, readPaperRows } from "../../lib/data/paper.ts";
import { MAGAZINE_DIR, npyInt64, withTempDir } from "../helpers.ts";

test("the embedded Magazine copy loads with the official loader's counts", async () => {
  const ds = await loadPaperDataset(MAGAZINE_DIR, { name: "magazine" });
  const s = datasetStats(ds);
  assert.deepEqual([s.users, s.items, s.train, s.validation, s.test], [3092, 1305, 5984, 436, 6269]);
  // 50 summed duplicate train pairs: stored entries are fewer than rows, values of 2 exist.
  assert.equal(ds.train.nnz, 5984 - 50);
  assert.equal(Math.max(...ds.train.values), 2);
  // Dense ids are in increasing order of the original ids.
  const ids = ds.itemIds.map(Number);
  assert.ok(ids.every((v, i) => i === 0 || v > ids[i - 1]));
});

test("binary duplicates keep one entry of value 1 per pair", async () => {
  const ds = await loadPaperDataset(MAGAZINE_DIR, { duplicates: "binary" });
  assert.equal(ds.train.total, ds.train.nnz);
  assert.equal(ds.train.nnz, 5934);
});

test("npy parsing: dtypes, truncation and bad magic", () => {
  const bytes = npyInt64([3, -1, 7]);
  const a = parseNpy(bytes);
  assert.deepEqual(a.shape, [3]);
  assert.deepEqual([...a.data].map(Number), [3, -1, 7]);
  assert.throws(() => parseNpy(bytes.subarray(0, bytes.length - 4), "x.npy"), /x\.npy: truncated data/);
  assert.throws(() => parseNpy(new Uint8Array(20), "y.npy"), /y\.npy: not a NumPy/);
  assert.throws(() => parseNpz(new Uint8Array([1, 2, 3]), "z.npz"), /z\.npz: not a readable/);
});

test("a missing file names its path", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(readPaperRows(dir), new RegExp(`missing file: ${join(dir, "total_data.hdf5")}`));
  });
});

test("a truncated HDF5 file is a clear error", async () => {
  await withTempDir(async (dir) => {
    const h5 = readFileSync(join(MAGAZINE_DIR, "total_data.hdf5"));
    writeFileSync(join(dir, "total_data.hdf5"), h5.subarray(0, 1000));
    copyFileSync(join(MAGAZINE_DIR, "index.npz"), join(dir, "index.npz"));
    await assert.rejects(readPaperRows(dir), /total_data\.hdf5/);
  });
});

test("an index.npz of the wrong length or with bad codes is rejected", async () => {
  await withTempDir(async (dir) => {
    copyFileSync(join(MAGAZINE_DIR, "total_data.hdf5"), join(dir, "total_data.hdf5"));
    writeFileSync(join(dir, "index.npz"), zipSync({ "data.npy": npyInt64([0, 1, 2]) }));
    await assert.rejects(readPaperRows(dir), /'data' has 3 entries but .* has 89689 rows/);
    const codes = new Array(89689).fill(0);
    codes[5] = 7;
    writeFileSync(join(dir, "index.npz"), zipSync({ "data.npy": npyInt64(codes) }));
    await assert.rejects(readPaperRows(dir), /split code 7 at row 5/);
    writeFileSync(join(dir, "index.npz"), zipSync({ "data.npy": npyInt64(new Array(89689).fill(-1)) }));
    await assert.rejects(loadPaperDataset(dir), /no interactions/);
  });
});

test("a truncated total_data.hdf5 gets one clear error, not the HDF5 library's diagnostics", async () => {
  const { mkdirSync } = await import("node:fs");
  await withTempDir(async (dir) => {
    const cut = join(dir, "cut");
    mkdirSync(cut);
    copyFileSync(join(MAGAZINE_DIR, "index.npz"), join(cut, "index.npz"));
    const full = readFileSync(join(MAGAZINE_DIR, "total_data.hdf5"));
    writeFileSync(join(cut, "total_data.hdf5"), full.subarray(0, 200_000));
    await assert.rejects(loadPaperDataset(cut), /total_data\.hdf5: truncated HDF5 file \(200000 of 447392 bytes\)/);
    writeFileSync(join(cut, "total_data.hdf5"), "not hdf5 at all");
    await assert.rejects(loadPaperDataset(cut), /total_data\.hdf5: not an HDF5 file/);
  });
});
