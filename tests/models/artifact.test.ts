import assert from "node:assert/strict";
import { test } from "node:test";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { artifactOf, decodeArtifact, encodeArtifact, type RankedItems, recommendTopK, savedModel, type SavedModel } from "../../lib/models/artifact.ts";
import { PopRec } from "../../lib/models/pop.ts";
import { plantedDataset } from "./synthetic.ts";

const ds = plantedDataset();
const allRows = ds.train.add(ds.validation).add(ds.test);
const meta = { itemIds: [...ds.itemIds], users: { ids: [...ds.userIds], seen: allRows }, dataset: { name: ds.name, trainedOn: "train split" } };
const noBackend = () => Promise.reject(new Error("PopRec needs no ONNX backend"));

async function fittedPop(): Promise<PopRec> {
  const model = new PopRec();
  await model.fit(ds.train);
  return model;
}

async function collect(model: SavedModel, context: InteractionMatrix, k: number, options: { users?: number[]; blockUsers?: number } = {}): Promise<RankedItems[]> {
  const lists: RankedItems[] = [];
  await recommendTopK(model, context, k, { ...options, onBlock: (block) => void lists.push(...block) });
  return lists;
}

test("PopRec artifact: saved → loaded gives the fitted model's scores exactly (relative error 0)", async () => {
  const model = await fittedPop();
  const bytes = encodeArtifact(await artifactOf(model, meta));
  const back = decodeArtifact(bytes, "p.infrec");
  assert.equal(back.model, "pop");
  if (back.model !== "pop") return;
  assert.deepEqual([...back.popularity], [...Float32Array.from(ds.train.itemCounts())]);
  assert.equal(back.dataset?.trainedOn, "train split");
  const saved = await savedModel(back, noBackend);
  const n = ds.train.numUsers;
  const m = ds.train.numItems;
  const want = new Float32Array(n * m);
  const got = new Float32Array(n * m);
  await model.scoreBlock(ds.train, 0, n, want);
  await saved.scoreBlock(ds.train, 0, n, got);
  assert.deepEqual(got, want);
});

test("the shared header: corrupt, truncated and unknown kinds are clear errors", async () => {
  const bytes = encodeArtifact(await artifactOf(await fittedPop(), meta));
  assert.throws(() => decodeArtifact(bytes.subarray(0, bytes.length - 9), "p.infrec"), /p\.infrec: truncated/);
  const flipped = bytes.slice();
  flipped[flipped.length - 20] ^= 0xff;
  assert.throws(() => decodeArtifact(flipped, "p.infrec"), /p\.infrec: checksum mismatch/);
  const text = new TextDecoder().decode(bytes);
  const at = text.indexOf('"model":"pop"');
  assert.ok(at > 0);
  const future = bytes.slice();
  future.set(new TextEncoder().encode('"model":"xyz"'), at);
  assert.throws(() => decodeArtifact(future, "p.infrec"), /p\.infrec: unknown model kind 'xyz' \(known: inf-ae, ease, pop\)/);
  assert.throws(() => decodeArtifact(new TextEncoder().encode("a text file, not a model at all"), "x"), /x: not an infrec artifact/);
});

test("recommendTopK: seen items excluded, best first with ties to the lower index, the same lists in any block size", async () => {
  const saved = await savedModel(decodeArtifact(encodeArtifact(await artifactOf(await fittedPop(), meta))), noBackend);
  const counts = Float32Array.from(ds.train.itemCounts());
  const whole = await collect(saved, allRows, 10);
  assert.equal(whole.length, ds.train.numUsers);
  for (const list of whole) {
    const seen = new Set(allRows.rowItems(list.user));
    // The expected list by brute force: unseen items by count, then index.
    const want = Array.from({ length: counts.length }, (_, i) => i).filter((i) => !seen.has(i)).sort((a, b) => counts[b] - counts[a] || a - b).slice(0, 10);
    assert.deepEqual([...list.items], want);
    assert.deepEqual([...list.scores], want.map((i) => counts[i]));
  }
  for (const blockUsers of [1, 7, 64]) assert.deepEqual(await collect(saved, allRows, 10, { blockUsers }), whole);
  const picked = await collect(saved, allRows, 10, { users: [17, 3, 17 + 1] });
  assert.deepEqual(picked, [whole[17], whole[3], whole[18]]);
});

test("recommendTopK: a user who has seen all but j items gets j; k must be positive", async () => {
  const saved = await savedModel(decodeArtifact(encodeArtifact(await artifactOf(await fittedPop(), meta))), noBackend);
  const m = ds.itemIds.length;
  const items = Array.from({ length: m - 2 }, (_, i) => i + 2);
  const nearlyAll = InteractionMatrix.fromTriplets(1, m, items.map(() => 0), items);
  const [list] = await collect(saved, nearlyAll, 10);
  assert.deepEqual([...list.items].sort(), [0, 1]);
  await assert.rejects(collect(saved, nearlyAll, 0), /k must be a positive integer/);
  await assert.rejects(collect(saved, InteractionMatrix.empty(1, m + 1), 5), /the users' rows have 61 items, the model 60/);
});
