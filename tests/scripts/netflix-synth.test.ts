/**
 * scripts/netflix-synth.ts: a small Netflix-shaped set read back through the
 * ordinary Netflix reader (exact counts, heavy tails, the planted groups, the
 * file format), reproducible from its seed.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataFile } from "../../lib/data/load-file.ts";
import { readInteractions } from "../../lib/data/text.ts";
import { generateNetflixSynth, NETFLIX_SHAPE, scaledShape } from "../../scripts/netflix-synth.ts";
import { withTempDir } from "../helpers.ts";

const SMALL = { users: 3000, items: 400, ratings: 60_000, seed: 7 };

/** One hash over every file of a folder (names and bytes). */
function folderHash(dir: string): string {
  const h = createHash("sha256");
  for (const name of readdirSync(dir).sort()) h.update(name).update(readFileSync(join(dir, name)));
  return h.digest("hex");
}

function sortedCounts(index: Int32Array, size: number): number[] {
  const counts = new Array<number>(size).fill(0);
  for (const k of index) counts[k]++;
  return counts.sort((a, b) => a - b);
}

/** Share of all rows held by the top 10% of ids. */
const topDecileShare = (sorted: number[]) => sorted.slice(Math.floor(sorted.length * 0.9)).reduce((a, b) => a + b, 0) / sorted.reduce((a, b) => a + b, 0);

test("netflix-synth: read back by the Netflix reader with exact counts, heavy tails and the planted groups", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "nf");
    const summary = generateNetflixSynth(out, SMALL);
    const folder = join(out, "training_set");
    const files = readdirSync(folder).sort();
    assert.equal(files.length, SMALL.items);
    assert.equal(files[0], "mv_0000001.txt");
    assert.equal(files.at(-1), "mv_0000400.txt");
    const first = readFileSync(join(folder, files[0]), "utf8").split("\n");
    assert.equal(first[0], "1:");
    assert.match(first[1], /^\d+,[1-5],(199\d|200[0-5])-\d\d-\d\d$/);

    const raw = readInteractions(folder);
    assert.equal(raw.userIds.length, SMALL.users);
    assert.equal(raw.itemIds.length, SMALL.items);
    assert.equal(raw.users.length, SMALL.ratings);
    assert.deepEqual({ users: summary.users, items: summary.items, ratings: summary.ratings }, { users: 3000, items: 400, ratings: 60_000 });
    for (const r of raw.ratings!) assert.ok(r >= 1 && r <= 5 && Number.isInteger(r));
    const first1999 = Date.UTC(1999, 10, 11) / 1000;
    const last2005 = Date.UTC(2005, 11, 31) / 1000;
    for (const t of raw.timestamps!) assert.ok(t >= first1999 && t <= last2005, `date ${t}`);
    // No (user, movie) pair twice.
    const pairs = new Set<number>();
    for (let r = 0; r < raw.users.length; r++) pairs.add(raw.users[r] * SMALL.items + raw.items[r]);
    assert.equal(pairs.size, SMALL.ratings);

    // Heavy tails: means above medians, maxima far out, the top decile holding
    // a large share (Poisson counts with these means: about 0.13 and 2.6 × median).
    const perUser = sortedCounts(raw.users, SMALL.users);
    const perItem = sortedCounts(raw.items, SMALL.items);
    assert.ok(perUser[0] >= 1);
    const median = (s: number[]) => s[Math.floor(s.length / 2)];
    assert.ok(SMALL.ratings / SMALL.users > 1.25 * median(perUser), `user mean ${SMALL.ratings / SMALL.users}, median ${median(perUser)}`);
    assert.ok(perUser.at(-1)! > 5 * median(perUser), `user max ${perUser.at(-1)}, median ${median(perUser)}`);
    assert.ok(topDecileShare(perUser) > 0.25, `top 10% of users hold ${topDecileShare(perUser)}`);
    assert.ok(SMALL.ratings / SMALL.items > 2 * median(perItem), `item mean ${SMALL.ratings / SMALL.items}, median ${median(perItem)}`);
    assert.ok(topDecileShare(perItem) > 0.5, `top 10% of movies hold ${topDecileShare(perItem)}`);
    assert.equal(perItem.at(-1), summary.maxItemRatings);

    // The planted groups: users rate their own group's movies far more often than chance.
    const planted = JSON.parse(readFileSync(join(out, "planted.json"), "utf8")) as { customerIds: number[]; userGroups: number[]; itemGroups: number[] };
    const groupOfCustomer = new Map(planted.customerIds.map((id, u) => [String(id), planted.userGroups[u]]));
    let same = 0;
    const userShare = new Map<number, number>();
    const itemShare = new Map<number, number>();
    for (let r = 0; r < raw.users.length; r++) {
      const g = groupOfCustomer.get(raw.userIds[raw.users[r]])!;
      const h = planted.itemGroups[Number(raw.itemIds[raw.items[r]]) - 1];
      if (g === h) same++;
      userShare.set(g, (userShare.get(g) ?? 0) + 1 / SMALL.ratings);
      itemShare.set(h, (itemShare.get(h) ?? 0) + 1 / SMALL.ratings);
    }
    let chance = 0;
    for (const [g, p] of userShare) chance += p * (itemShare.get(g) ?? 0);
    assert.ok(Math.abs(same / SMALL.ratings - summary.inGroupShare) < 1e-12);
    assert.ok(same / SMALL.ratings > 3 * chance, `in-group share ${same / SMALL.ratings} against ${chance} by chance`);

    // The ordinary --data path builds the split from the folder.
    const ds = await loadDataFile(folder, { format: "netflix" });
    assert.equal(ds.itemIds.length, SMALL.items);
    assert.equal(ds.userIds.length, perUser.filter((c) => c >= 3).length);
  });
});

test("netflix-synth: the same seed gives the same bytes, another seed others; --scale keeps Netflix's shape at 1", async () => {
  await withTempDir(async (dir) => {
    const small = { users: 500, items: 60, ratings: 5000 };
    generateNetflixSynth(join(dir, "a"), { ...small, seed: 3 });
    generateNetflixSynth(join(dir, "b"), { ...small, seed: 3 });
    generateNetflixSynth(join(dir, "c"), { ...small, seed: 4 });
    const hash = (name: string) => folderHash(join(dir, name, "training_set"));
    assert.equal(hash("a"), hash("b"));
    assert.notEqual(hash("a"), hash("c"));
    assert.equal(readFileSync(join(dir, "a", "planted.json"), "utf8"), readFileSync(join(dir, "b", "planted.json"), "utf8"));
    assert.throws(() => generateNetflixSynth(join(dir, "a"), { ...small, seed: 3 }), /exists/);
    assert.throws(() => generateNetflixSynth(join(dir, "d"), { users: 500, items: 60, ratings: 400, seed: 1 }), /at least once/);
    assert.deepEqual(readdirSync(dir).sort(), ["a", "b", "c"]);
  });
  assert.deepEqual(scaledShape(1), { ...NETFLIX_SHAPE });
  assert.deepEqual(scaledShape(0.01), { users: 4802, items: 1777, ratings: 1_004_805 });
  assert.throws(() => scaledShape(0), /scale/);
});
