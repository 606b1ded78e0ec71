import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeArtifact, encodeArtifact, hasSavedForm, savedModel, artifactOf } from "../../../lib/models/artifact.ts";
import { MODELS } from "../../../lib/models/registry.ts";
import { decodeDuals } from "../../../lib/models/infinite-ae/artifact.ts";
import { EASE } from "../../../lib/models/ease/model.ts";
import { getBackend } from "../../../lib/onnx/backend.ts";
import { relErr } from "../../helpers.ts";
import { plantedDataset } from "../synthetic.ts";

const ds = plantedDataset();
const context = ds.train.add(ds.validation);
const allRows = ds.train.add(ds.validation).add(ds.test);
const meta = { itemIds: [...ds.itemIds], users: { ids: [...ds.userIds], seen: allRows }, dataset: { name: ds.name, trainedOn: "train split" } };

async function scores(model: { scoreBlock: EASE["scoreBlock"] }): Promise<Float32Array> {
  const out = new Float32Array(context.numUsers * context.numItems);
  await model.scoreBlock(context, 0, context.numUsers, out);
  return out;
}

test("EASE artifact: saved → loaded gives the fitted model's scores (float32: relative error 0; float16: < 1e-3)", async () => {
  const backend = await getBackend({ device: "cpu" });
  const model = new EASE({ lambda: 50, engine: "host", backend });
  await model.fit(ds.train);
  const want = await scores(model);
  const art = await artifactOf(model, meta);
  assert.equal(art.model, "ease");
  const back = decodeArtifact(encodeArtifact(art), "e.infrec");
  assert.equal(back.model, "ease");
  if (back.model !== "ease") return;
  assert.equal(back.lambda, 50);
  assert.deepEqual(back.hyperParameters, model.hyperParameters());
  assert.deepEqual(back.itemIds, ds.itemIds);
  assert.deepEqual(back.users!.ids, ds.userIds);
  assert.deepEqual([...back.users!.seen.indices], [...allRows.indices]);
  for (let i = 0; i < ds.itemIds.length; i++) assert.equal(back.weights[i * ds.itemIds.length + i], 0, "zero diagonal");
  const got = await scores(await savedModel(back, async () => backend));
  // B read back through the scores of one-item users is exact, and the saved
  // model multiplies by it with the same ORT product.
  assert.equal(relErr(got, want), 0);
  const half = decodeArtifact(encodeArtifact(await artifactOf(model, { ...meta, half: true })));
  const halfScores = await scores(await savedModel(half, async () => backend));
  const err = relErr(halfScores, want);
  assert.ok(err > 0 && err < 1e-3, `float16 B: relative error ${err}`);
  model.dispose();
});

test("EASE artifact from the device-resident engine: the host engine's B within float32 solve error (relative < 1e-4)", async () => {
  const backend = await getBackend({ device: "cpu" });
  const host = new EASE({ lambda: 50, engine: "host", backend });
  const device = new EASE({ lambda: 50, engine: "device", backend });
  await host.fit(ds.train);
  await device.fit(ds.train);
  const a = await artifactOf(host, meta);
  const b = await artifactOf(device, meta);
  if (a.model !== "ease" || b.model !== "ease") throw new Error("not EASE artifacts");
  const err = relErr(b.weights, a.weights);
  assert.ok(err < 1e-4, `device B against host B: relative error ${err}`);
  const saved = await savedModel(decodeArtifact(encodeArtifact(b)), async () => backend);
  assert.ok(relErr(await scores(saved), await scores(device)) < 1e-6);
  host.dispose();
  device.dispose();
});

test("an EASE artifact is not ∞-AE duals: decodeDuals says which kind it is", async () => {
  const model = new EASE({ lambda: 50, engine: "host" });
  await model.fit(ds.train);
  const bytes = encodeArtifact(await artifactOf(model, meta));
  assert.throws(() => decodeDuals(bytes, "e.infrec"), /e\.infrec: a saved ease model, not ∞-AE duals/);
  model.dispose();
});

for (const name of ["gf-cf", "turbo-cf"]) {
  test(`${name} saves as its item–item filter: saved → loaded gives the fitted model's scores (relative error 0)`, async () => {
    const backend = await getBackend({ device: "cpu" });
    const entry = MODELS[name];
    const model = entry.build(entry.gridFor(ds, { quick: true })[0], { backend });
    assert.ok(hasSavedForm(model));
    await model.fit(ds.train);
    const want = await scores(model);
    const back = decodeArtifact(encodeArtifact(await artifactOf(model, meta)), `${name}.infrec`);
    assert.equal(back.model, "ease");
    if (back.model !== "ease") return;
    assert.equal(back.name, name);
    assert.equal(back.lambda, undefined);
    assert.deepEqual(back.hyperParameters, model.hyperParameters());
    assert.equal(relErr(await scores(await savedModel(back, async () => backend)), want), 0);
    await model.dispose?.();
  });
}

test("models without a fixed item–item matrix (SVD-AE's per-user scaling, MF) have no saved form", () => {
  for (const name of ["svd-ae", "mf"]) {
    const entry = MODELS[name];
    assert.equal(hasSavedForm(entry.build(entry.gridFor(ds, { quick: true })[0])), false, name);
  }
});
