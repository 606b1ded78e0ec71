import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { InteractionMatrix } from "../../../lib/data/matrix.ts";
import { decodeDuals, encodeDuals, fromFloat16Bits, toFloat16Bits } from "../../../lib/models/infinite-ae/artifact.ts";
import { DualsScorer } from "../../../lib/models/infinite-ae/duals-scorer.ts";
import { InfiniteAE } from "../../../lib/models/infinite-ae/model.ts";
import { getBackend } from "../../../lib/onnx/backend.ts";
import { decodeArtifact } from "../../../lib/models/artifact.ts";
import { REPO_ROOT } from "../../../lib/data/registry.ts";
import { relErr } from "../../helpers.ts";
import { plantedDataset } from "../synthetic.ts";

async function fitted() {
  const ds = plantedDataset();
  const model = new InfiniteAE({ lambda: 1 });
  await model.fit(ds.train);
  return { ds, model, art: await model.toArtifact({ itemIds: ds.itemIds, userIds: ds.userIds, dataset: { name: ds.name } }) };
}

test("artifact round-trips exactly (float32) and within float16 precision", async () => {
  const { art } = await fitted();
  const back = decodeDuals(encodeDuals(art));
  assert.deepEqual([...back.alpha], [...art.alpha]);
  assert.deepEqual([...back.support.indices], [...art.support.indices]);
  assert.deepEqual(back.itemIds, art.itemIds);
  assert.equal(back.lambda, 1);
  assert.equal(back.depth, 1);
  const half = decodeDuals(encodeDuals(art, "float16"));
  let err = 0;
  let scale = 0;
  for (let i = 0; i < art.alpha.length; i++) {
    err = Math.max(err, Math.abs(half.alpha[i] - art.alpha[i]));
    scale = Math.max(scale, Math.abs(art.alpha[i]));
  }
  assert.ok(err / scale < 1e-3, `float16 relative error ${err / scale}`);
});

test("float16 conversion: exact values, rounding, subnormals, infinities", () => {
  for (const x of [0, 1, -2, 0.5, 65504, 2 ** -24, -(2 ** -14)]) assert.equal(fromFloat16Bits(toFloat16Bits(x)), x);
  assert.equal(fromFloat16Bits(toFloat16Bits(1e6)), Infinity);
  assert.ok(Math.abs(fromFloat16Bits(toFloat16Bits(0.1)) - 0.1) < 1e-4);
});

test("corrupt, truncated and foreign files are clear errors", async () => {
  const { art } = await fitted();
  const bytes = encodeDuals(art);
  assert.throws(() => decodeDuals(bytes.subarray(0, bytes.length - 100), "m.infrec"), /m\.infrec: truncated/);
  const flipped = bytes.slice();
  flipped[flipped.length - 50] ^= 0xff;
  assert.throws(() => decodeDuals(flipped, "m.infrec"), /checksum mismatch/);
  assert.throws(() => decodeDuals(new TextEncoder().encode("hello world, not an artifact"), "x"), /not an infrec artifact \(bad magic\)/);
  const future = bytes.slice();
  new DataView(future.buffer).setUint32(13, 99, true);
  assert.throws(() => decodeDuals(future), /format version 99/);
});

test("recommending from saved duals equals the fitted model's scores for the same items", async () => {
  const { ds, model, art } = await fitted();
  const scorer = new DualsScorer(decodeDuals(encodeDuals(art)), await getBackend({ device: "cpu" }));
  const users = [0, 5, 17, 99];
  const ids = users.map((u) => [...ds.test.rowItems(u)].map((i) => ds.itemIds[i]));
  const { scores } = await scorer.scoreUsers(ids);
  // The same users as a context matrix scored by the fitted model.
  const ctx = InteractionMatrix.fromTriplets(
    users.length, ds.itemIds.length,
    users.flatMap((u, r) => [...ds.test.rowItems(u)].map(() => r)),
    users.flatMap((u) => [...ds.test.rowItems(u)]),
  );
  const want = new Float32Array(users.length * ds.itemIds.length);
  await model.scoreBlock(ctx, 0, users.length, want);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(scores[i] - want[i]) <= 1e-6 + 1e-5 * Math.abs(want[i]));
  const [rec] = await scorer.recommend([[...ids[0], "no-such-item"]], 5);
  assert.deepEqual(rec.unknown, ["no-such-item"]);
  assert.equal(rec.items.length, 5);
  for (const r of rec.items) assert.ok(!ids[0].includes(r.item), "own items are excluded");
  await assert.rejects(scorer.recommend([ids[0]], 0), /k must be a positive integer/);
});

// Written by infrec at commit f0d35ca (format 1, before the shared container):
// ∞-AE, λ = 1, fitted on the train split of plantedDataset(40, 16, 4, 6, 3).
const VERSION_1 = join(REPO_ROOT, "tests", "fixtures", "artifacts", "inf-ae-v1.infrec");

test("a format-1 artifact still loads: its duals are those of the same fit today, its support users are its users", async () => {
  const bytes = new Uint8Array(readFileSync(VERSION_1));
  const old = decodeDuals(bytes, "v1.infrec");
  const ds = plantedDataset(40, 16, 4, 6, 3);
  const model = new InfiniteAE({ lambda: 1 });
  await model.fit(ds.train);
  const now = await model.toArtifact({ itemIds: ds.itemIds, userIds: ds.userIds });
  assert.equal(old.lambda, 1);
  assert.equal(old.depth, 1);
  assert.equal(old.alphaDType, "float32");
  assert.deepEqual(old.itemIds, ds.itemIds);
  assert.deepEqual([...old.support.indices], [...ds.train.indices]);
  assert.ok(relErr(old.alpha, now.alpha) < 1e-6, `α against today's fit: relative error ${relErr(old.alpha, now.alpha)}`);
  assert.deepEqual(old.users!.ids, ds.userIds);
  assert.deepEqual([...old.users!.seen.indptr], [...ds.train.indptr]);
  assert.equal(decodeArtifact(bytes).model, "inf-ae");
});

test("format 2 carries the dataset's users and their histories, and an α stored as float16 says so", async () => {
  const { ds, art } = await fitted();
  const seen = ds.train.add(ds.validation).add(ds.test);
  const bytes = encodeDuals({ ...art, users: { ids: [...ds.userIds], seen } }, "float16");
  assert.equal(new DataView(bytes.buffer).getUint32(13, true), 2);
  const back = decodeDuals(bytes);
  assert.equal(back.alphaDType, "float16");
  assert.deepEqual(back.users!.ids, ds.userIds);
  assert.deepEqual([...back.users!.seen.values], [...seen.values]);
  assert.deepEqual(back.supportUserIds, ds.userIds);
  assert.equal(back.shift, art.shift);
});
