import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Dataset } from "../../lib/data/dataset.ts";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { buildDataset, idOrder, loadSplit, saveSplit, SplitRandom, splitSizes } from "../../lib/data/split.ts";
import { type RawInteractions, rawFromRows, readInteractions } from "../../lib/data/text.ts";

const scratch = mkdtempSync(join(tmpdir(), "infrec-split-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

type Row = { user: string; item: string; rating?: number };

/** Random rows: `users` users with 1..maxPerUser rows each over `items` items (repeats possible). */
function randomRows(seed: number, users: number, items: number, maxPerUser: number): Row[] {
  const rng = new SplitRandom(seed);
  const rows: Row[] = [];
  for (let u = 0; u < users; u++) {
    const n = 1 + rng.below(maxPerUser);
    for (let k = 0; k < n; k++) rows.push({ user: `${u * 3 + 1}`, item: `${rng.below(items) + 100}`, rating: 1 + rng.below(5) });
  }
  return rows;
}

/** Per split, per user: the sorted list of original item ids, each repeated by its value. */
function splitLists(ds: Dataset): Map<string, string[]>[] {
  return [ds.train, ds.validation, ds.test].map((m) => {
    const out = new Map<string, string[]>();
    for (let u = 0; u < m.numUsers; u++) {
      const list: string[] = [];
      const items = m.rowItems(u);
      const values = m.rowValues(u);
      items.forEach((i, k) => {
        for (let c = 0; c < values[k]; c++) list.push(ds.itemIds[i]);
      });
      out.set(ds.userIds[u], list);
    }
    return out;
  });
}

function sameMatrix(a: InteractionMatrix, b: InteractionMatrix): boolean {
  return (
    a.numUsers === b.numUsers &&
    a.numItems === b.numItems &&
    a.indptr.every((v, k) => v === b.indptr[k]) &&
    a.indices.length === b.indices.length &&
    a.indices.every((v, k) => v === b.indices[k]) &&
    a.values.every((v, k) => v === b.values[k])
  );
}

function sameDataset(a: Dataset, b: Dataset): boolean {
  return (
    a.name === b.name &&
    a.duplicates === b.duplicates &&
    JSON.stringify(a.userIds) === JSON.stringify(b.userIds) &&
    JSON.stringify(a.itemIds) === JSON.stringify(b.itemIds) &&
    sameMatrix(a.train, b.train) &&
    sameMatrix(a.validation, b.validation) &&
    sameMatrix(a.test, b.test)
  );
}

describe("splitSizes", () => {
  test("per-user sizes observed in the authors' ML-1M, Magazine and Douban index.npz files", () => {
    // n → [train, validation, test], read from the shared data's index files.
    const observed: [number, [number, number, number]][] = [
      [3, [1, 0, 2]], [4, [2, 0, 2]], [6, [3, 1, 2]], [18, [13, 2, 3]], [21, [15, 2, 4]], [31, [23, 3, 5]],
      [34, [26, 3, 5]], [51, [39, 5, 7]], [53, [41, 5, 7]], [55, [43, 5, 7]], [71, [55, 7, 9]],
      [129, [102, 13, 14]], [139, [110, 14, 15]], [141, [111, 14, 16]], [198, [157, 20, 21]], [447, [356, 45, 46]],
    ];
    for (const [n, sizes] of observed) assert.deepEqual(splitSizes(n), sizes, `n = ${n}`);
  });

  test("sizes sum to n and test is never empty, for any ratios", () => {
    for (const ratios of [[0.8, 0.1, 0.1], [0.5, 0.25, 0.25], [1, 0, 0], [0, 0, 1], [0.7, 0.3, 0]] as const) {
      for (let n = 1; n <= 300; n++) {
        const s = splitSizes(n, ratios);
        assert.equal(s[0] + s[1] + s[2], n);
        assert.ok(s.every((v) => Number.isInteger(v) && v >= 0), `${JSON.stringify(ratios)} n=${n}: ${s}`);
        assert.ok(s[2] >= 1);
      }
    }
    assert.deepEqual(splitSizes(1), [0, 0, 1]);
    assert.deepEqual(splitSizes(2), [0, 0, 2]);
  });

  test("bad ratios and n are rejected", () => {
    assert.throws(() => splitSizes(10, [0.8, 0.1, 0.2]), /sum to 1/);
    assert.throws(() => splitSizes(10, [1.2, -0.1, -0.1]), /shares in \[0, 1\]/);
    assert.throws(() => splitSizes(0), /positive integer/);
  });

  test("matches the authors' split files in /work/shared/data when present", async (t) => {
    const base = "/work/shared/data";
    if (!existsSync(join(base, "ml-1m/index.npz"))) return t.skip("shared data not present");
    const h5wasm = (await import("h5wasm/node")).default;
    const { unzipSync } = await import("fflate");
    await h5wasm.ready;
    for (const name of ["ml-1m", "magazine"]) {
      const file = new h5wasm.File(join(base, name, "total_data.hdf5"), "r");
      const user = file.get("user") as { value: Int32Array };
      const users = user.value;
      file.close();
      const npy = unzipSync(readFileSync(join(base, name, "index.npz")))["data.npy"];
      const headerLength = npy[8] | (npy[9] << 8);
      assert.ok(new TextDecoder().decode(npy.subarray(10, 10 + headerLength)).includes("<i8"));
      const split = new BigInt64Array(npy.slice(10 + headerLength).buffer);
      const counts = new Map<number, number[]>();
      for (let r = 0; r < users.length; r++) {
        let c = counts.get(users[r]);
        if (!c) counts.set(users[r], (c = [0, 0, 0, 0]));
        c[Number(split[r]) + 1]++;
      }
      let checked = 0;
      for (const c of counts.values()) {
        if (c[0] > 0) continue; // removed user (< 3 ratings)
        assert.deepEqual(splitSizes(c[1] + c[2] + c[3]), c.slice(1));
        checked++;
      }
      assert.ok(checked > 3000, `${name}: ${checked} users checked`);
    }
  });
});

describe("SplitRandom", () => {
  test("mulberry32 sequence for seed 42 is pinned", () => {
    const rng = new SplitRandom(42);
    assert.deepEqual([0, 1, 2, 3, 4].map(() => rng.nextUint32()), [2581720956, 1925393290, 3661312704, 2876485805, 750819978]);
  });

  test("below(n) is roughly uniform and in range", () => {
    const rng = new SplitRandom(7);
    const counts = new Array(6).fill(0);
    for (let k = 0; k < 60000; k++) counts[rng.below(6)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `counts ${counts}`);
    assert.throws(() => rng.below(0), /bad bound/);
    assert.throws(() => new SplitRandom(1.5), /integer/);
  });
});

describe("idOrder", () => {
  test("numeric order when all ids are integers", () => {
    const ids = ["10", "2", "-3", "007", "7", "0", "123456789012345678901", "123456789012345678900"];
    const sorted = Array.from(idOrder(ids), (k) => ids[k]);
    assert.deepEqual(sorted, ["-3", "0", "2", "007", "7", "10", "123456789012345678900", "123456789012345678901"]);
  });

  test("lexicographic otherwise", () => {
    const ids = ["b", "10", "a", "2"];
    assert.deepEqual(Array.from(idOrder(ids), (k) => ids[k]), ["10", "2", "a", "b"]);
  });
});

describe("buildDataset", () => {
  test("pinned split of a small dataset with seed 42 (the split definition must stay stable)", () => {
    const rows: Row[] = [];
    for (let u = 1; u <= 3; u++) for (let i = 1; i <= 4 + 3 * u; i++) rows.push({ user: String(u), item: String(i * 10) });
    const ds = buildDataset(rawFromRows(rows), { name: "pin" });
    const [train, validation, test] = splitLists(ds);
    assert.deepEqual([...train.values()], [["10", "20", "60", "70"], ["20", "30", "40", "50", "60", "70", "80"], ["10", "20", "30", "40", "50", "90", "100", "120", "130"]]);
    assert.deepEqual([...validation.values()], [["50"], ["90"], ["110"]]);
    assert.deepEqual([...test.values()], [["30", "40"], ["10", "100"], ["60", "70", "80"]]);
  });

  test("drops small users, numbers ids densely in id order, and drops items only they had", () => {
    const raw = rawFromRows([
      { user: "10", item: "b" }, { user: "10", item: "a" }, { user: "10", item: "c" },
      { user: "2", item: "z" }, { user: "2", item: "a" },
      { user: "9", item: "c" }, { user: "9", item: "b" }, { user: "9", item: "d" }, { user: "9", item: "a" },
    ]);
    const ds = buildDataset(raw, { name: "tiny" });
    assert.deepEqual(ds.userIds, ["9", "10"]);
    assert.deepEqual(ds.itemIds, ["a", "b", "c", "d"]);
    assert.equal(ds.train.numUsers, 2);
    assert.equal(ds.test.numItems, 4);
    const withAll = buildDataset(raw, { name: "tiny", minInteractions: 1 });
    assert.deepEqual(withAll.userIds, ["2", "9", "10"]);
    assert.deepEqual(withAll.itemIds, ["a", "b", "c", "d", "z"]);
  });

  test("splits partition each user's rows; sizes follow splitSizes; every user has a test row", () => {
    const rows = randomRows(1, 300, 80, 40);
    const raw = rawFromRows(rows);
    const ds = buildDataset(raw, { name: "random" });
    const perUser = new Map<string, string[]>();
    for (const r of rows) perUser.set(r.user, [...(perUser.get(r.user) ?? []), r.item]);
    const kept = [...perUser.entries()].filter(([, items]) => items.length >= 3);
    assert.equal(ds.userIds.length, kept.length);
    const [train, validation, test] = splitLists(ds);
    for (const [user, items] of kept) {
      const parts = [train.get(user) ?? [], validation.get(user) ?? [], test.get(user) ?? []];
      assert.deepEqual([...parts[0], ...parts[1], ...parts[2]].sort(), [...items].sort(), `user ${user}`);
      assert.deepEqual(parts.map((p) => p.length), splitSizes(items.length), `user ${user}`);
      assert.ok(parts[2].length >= 1);
    }
    const keptRows = kept.reduce((s, [, items]) => s + items.length, 0);
    assert.equal(ds.train.total + ds.validation.total + ds.test.total, keptRows);
  });

  test("same seed gives identical splits; another seed differs; row order does not matter", () => {
    const rows = randomRows(2, 200, 50, 30);
    const a = buildDataset(rawFromRows(rows), { name: "d", seed: 5 });
    const b = buildDataset(rawFromRows(rows), { name: "d", seed: 5 });
    const c = buildDataset(rawFromRows(rows), { name: "d", seed: 6 });
    assert.ok(sameDataset(a, b));
    assert.ok(!sameMatrix(a.test, c.test));
    assert.deepEqual(a.userIds, c.userIds);
    const shuffled = [...rows];
    const rng = new SplitRandom(99);
    for (let k = shuffled.length - 1; k > 0; k--) {
      const j = rng.below(k + 1);
      [shuffled[k], shuffled[j]] = [shuffled[j], shuffled[k]];
    }
    assert.ok(sameDataset(a, buildDataset(rawFromRows(shuffled), { name: "d", seed: 5 })));
  });

  test("duplicate pairs: summed or binary", () => {
    const rows: Row[] = [];
    for (let k = 0; k < 30; k++) rows.push({ user: "1", item: String(k % 3) });
    const summed = buildDataset(rawFromRows(rows), { name: "dup" });
    const binary = buildDataset(rawFromRows(rows), { name: "dup", duplicates: "binary" });
    assert.equal(summed.duplicates, "sum");
    assert.equal(summed.train.total + summed.validation.total + summed.test.total, 30);
    assert.ok(Math.max(...summed.train.values) > 1);
    for (const m of [binary.train, binary.validation, binary.test]) assert.ok(m.values.every((v) => v === 1));
    assert.ok(sameMatrix(summed.train.binarized(), binary.train));
  });

  test("rating threshold, and errors", () => {
    const raw = readInteractions(join(import.meta.dirname, "../fixtures/data/ratings.dat"));
    const ds = buildDataset(raw, { name: "ml", minInteractions: 2, ratingThreshold: 4 });
    assert.deepEqual(ds.userIds, ["2"]);
    assert.deepEqual(ds.itemIds, ["1357", "3068"]);
    assert.throws(() => buildDataset(raw, { name: "ml", minInteractions: 4 }), /no user has at least 4 interactions/);
    assert.throws(() => buildDataset(raw, { name: "ml", minInteractions: 0 }), /minInteractions/);
    assert.throws(() => buildDataset(raw, { name: "ml", ratios: [0.5, 0.1, 0.1] }), /sum to 1/);
    assert.throws(() => buildDataset(raw, { name: "ml", ratingThreshold: 9 }), /no interactions with rating >= 9/);
    const unrated = rawFromRows([{ user: "1", item: "2" }]);
    assert.throws(() => buildDataset(unrated, { name: "x", ratingThreshold: 1 }), /no ratings/);
  });
});

describe("saveSplit / loadSplit", () => {
  const odd = (ds: Dataset): Dataset => ({
    ...ds,
    name: 'odd "name"\twith tab',
    userIds: ds.userIds.map((id, k) => (k === 0 ? `tab\tand\nnewline "q" é` : id)),
    // Fractional values (as in DISTILL-CF summaries) must survive exactly.
    train: new InteractionMatrix(ds.train.numUsers, ds.train.numItems, ds.train.indptr, ds.train.indices,
      ds.train.values.map((v, k) => v * (k % 3 === 0 ? 0.1 : k % 3 === 1 ? 1 / 3 : 1e-7))),
  });

  test("round trip is exact (ids, values, shapes) and leaves no temp file", () => {
    const ds = odd(buildDataset(rawFromRows(randomRows(3, 150, 60, 25)), { name: "rt" }));
    const dir = mkdtempSync(join(scratch, "rt-"));
    const path = join(dir, "split.tsv");
    saveSplit(ds, path);
    assert.deepEqual(readdirSync(dir), ["split.tsv"]);
    const back = loadSplit(path);
    assert.ok(sameDataset(ds, back));
    assert.deepEqual(back.userIds, ds.userIds);
    // Empty validation rows and a user with no rows at all in a split still round-trip.
    const sparse: Dataset = { ...ds, validation: InteractionMatrix.empty(ds.train.numUsers, ds.train.numItems) };
    saveSplit(sparse, path);
    assert.ok(sameDataset(sparse, loadSplit(path)));
  });

  test("malformed files give errors naming file and line", () => {
    const ds = buildDataset(rawFromRows(randomRows(4, 20, 15, 10)), { name: "m" });
    const good = join(scratch, "good.tsv");
    saveSplit(ds, good);
    const lines = readFileSync(good, "utf8").split("\n");
    const variant = (name: string, edit: (ls: string[]) => string[]) => {
      const path = join(scratch, name);
      writeFileSync(path, edit([...lines]).join("\n"));
      return path;
    };
    const cases: [string, (ls: string[]) => string[], RegExp][] = [
      ["magic", (ls) => ["something else", ...ls.slice(1)], /:1: not an infrec split file/],
      ["json", (ls) => [ls[0], "{bad", ...ls.slice(2)], /:2: bad JSON header/],
      ["ids", (ls) => [ls[0], ls[1].replace('"numUsers":', '"numUsers":1000,"x":'), ...ls.slice(2)], /:2: header: \d+ userIds but numUsers 1000/],
      ["columns", (ls) => [ls[0], ls[1], "a\tb", ...ls.slice(3)], /:3: expected the column line/],
      ["fields", (ls) => [...ls.slice(0, 4), "train\t0\t1", ...ls.slice(4)], /:5: expected 4 tab-separated fields/],
      ["split", (ls) => [...ls.slice(0, 3), ls[3].replace("train", "dev"), ...ls.slice(4)], /:4: unknown split "dev"/],
      ["user", (ls) => [...ls.slice(0, 3), "train\t999\t0\t1", ...ls.slice(3)], /:4: user index "999" outside/],
      ["value", (ls) => [...ls.slice(0, 3), ls[3].replace(/\t[^\t]*$/, "\tNaN"), ...ls.slice(4)], /:4: value "NaN" is not a finite number/],
      ["order", (ls) => [...ls.slice(0, 3), ls[4], ls[3], ...ls.slice(5)], /:5: train entries out of order or repeated/],
      ["count", (ls) => ls.filter((l, k) => k !== 3), /train entries, but the header says/],
      ["truncated", (ls) => ls.slice(0, 1), /truncated/],
    ];
    for (const [name, edit, pattern] of cases) {
      const path = variant(`${name}.tsv`, edit);
      assert.throws(() => loadSplit(path), (e: Error) => e.message.startsWith(path) && pattern.test(e.message), name);
    }
    const missing = join(scratch, "nope.tsv");
    assert.throws(() => loadSplit(missing), new RegExp(`${missing}: file not found`));
  });

  test("saveSplit rejects mismatched shapes", () => {
    const ds = buildDataset(rawFromRows(randomRows(5, 10, 10, 8)), { name: "s" });
    assert.throws(() => saveSplit({ ...ds, itemIds: ds.itemIds.slice(1) }, join(scratch, "bad.tsv")), /does not match/);
  });
});
