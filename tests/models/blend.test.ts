/**
 * The blend (lib/models/blend.ts) against a float64 reference on tiny data:
 * ∞-AE from ntkGramReference and a float64 solve, EASE/RLAE from ml-matrix's
 * inverse, each user's row standardised over its unseen items, then
 * w·z(S_user) + (1 − w)·z(S_item). Acceptance: max relative error ≤ 1e-5 over
 * unseen items (seen ones are masked in every ranking); measured values are in
 * the diagnostics. Also: sharing one scratch across w reuses the fitted
 * components without changing a score, and the registry's blend tunes end to end.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { inverse, Matrix } from "ml-matrix";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { solveReference } from "../../lib/linalg/reference.ts";
import { Blend, standardiseRows } from "../../lib/models/blend.ts";
import { ridgeShift } from "../../lib/models/infinite-ae/duals.ts";
import { MODELS } from "../../lib/models/registry.ts";
import { FitScratch, type ScratchSlot } from "../../lib/models/scratch.ts";
import { ntkGramReference } from "../../lib/ntk/ntk.ts";
import { tuneModel } from "../../lib/tuning/tune.ts";
import { plantedDataset } from "./synthetic.ts";
import { randomBinary, unseenRelativeError } from "./shared.ts";

const TOL = 1e-5;


/** float64 ∞-AE scores K(C, X)·α, α = (K + c·I)⁻¹X. */
function infiniteAEReference(x: InteractionMatrix, ctx: InteractionMatrix, lambda: number): Float64Array {
  const n = x.numUsers;
  const m = x.numItems;
  const xs = x.denseRows(0, n);
  const k = ntkGramReference(xs, n, xs, n, m, 1);
  const alpha = solveReference(k, n, xs, m, ridgeShift(k, n, lambda));
  const kc = ntkGramReference(ctx.denseRows(0, ctx.numUsers), ctx.numUsers, xs, n, m, 1);
  const out = new Float64Array(ctx.numUsers * m);
  for (let u = 0; u < ctx.numUsers; u++) for (let j = 0; j < n; j++) for (let t = 0; t < m; t++) out[u * m + t] += kc[u * n + j] * alpha[j * m + t];
  return out;
}

/** float64 EASE/RLAE scores C·B, B = I − P·diag(γ), γ_j = max(λ, (1 − ξ)/P_jj), P = (XᵀX + λI)⁻¹ (ξ = 0: EASE's zero diagonal). */
function itemModelReference(x: InteractionMatrix, ctx: InteractionMatrix, lambda: number, xi: number): Float64Array {
  const m = x.numItems;
  const d = x.denseRows(0, x.numUsers);
  const g = new Matrix(m, m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let s = i === j ? lambda : 0;
    for (let u = 0; u < x.numUsers; u++) s += d[u * m + i] * d[u * m + j];
    g.set(i, j, s);
  }
  const p = inverse(g);
  const c = ctx.denseRows(0, ctx.numUsers);
  const out = new Float64Array(ctx.numUsers * m);
  for (let j = 0; j < m; j++) {
    const gamma = Math.max(lambda, (1 - xi) / p.get(j, j));
    for (let u = 0; u < ctx.numUsers; u++) {
      let s = c[u * m + j];
      for (let i = 0; i < m; i++) s -= c[u * m + i] * p.get(i, j) * gamma;
      out[u * m + j] = s;
    }
  }
  return out;
}

/** float64 per-user standardisation over unseen items (blend.ts's z). */
function standardise(scores: Float64Array, ctx: InteractionMatrix): Float64Array {
  const m = ctx.numItems;
  const out = new Float64Array(scores.length);
  for (let u = 0; u < ctx.numUsers; u++) {
    const unseen = [...Array(m).keys()].filter((j) => !ctx.has(u, j)).map((j) => scores[u * m + j]);
    const mean = unseen.reduce((a, b) => a + b, 0) / unseen.length;
    const std = Math.sqrt(unseen.reduce((a, b) => a + (b - mean) ** 2, 0) / unseen.length);
    for (let j = 0; j < m; j++) out[u * m + j] = (scores[u * m + j] - mean) / std;
  }
  return out;
}


for (const { w, xi, normalise } of [
  { w: 0.4, xi: 0, normalise: "user" },
  { w: 0.7, xi: 0.2, normalise: "user" },
  { w: 0.5, xi: 0, normalise: "none" },
  { w: 1, xi: 0, normalise: "user" },
  { w: 0, xi: 0.2, normalise: "user" },
] as const) {
  test(`blend w = ${w}, ${xi > 0 ? `RLAE ξ = ${xi}` : "EASE"}, normalise ${normalise}: scores match a float64 reference within ${TOL}`, async (t) => {
    const x = randomBinary(50, 30, 0.2, 5);
    const context = x.add(randomBinary(50, 30, 0.05, 6)); // the test protocol's larger context
    const model = new Blend({ weight: w, user: { lambda: 2 }, item: { lambda: 20, diagonalBound: xi }, normalise });
    await model.fit(x);
    const errs: string[] = [];
    for (const ctx of [x, context]) {
      const zu = infiniteAEReference(x, ctx, 2);
      const zi = itemModelReference(x, ctx, 20, xi);
      const [su, si] = normalise === "user" ? [standardise(zu, ctx), standardise(zi, ctx)] : [zu, zi];
      const want = su.map((v, i) => w * v + (1 - w) * si[i]);
      const got = new Float32Array(ctx.numUsers * ctx.numItems);
      // Two blocks, so the row offsets of the standardisation are exercised.
      await model.scoreBlock(ctx, 0, 20, got.subarray(0, 20 * ctx.numItems));
      await model.scoreBlock(ctx, 20, ctx.numUsers, got.subarray(20 * ctx.numItems));
      const err = unseenRelativeError(ctx, got, want);
      errs.push(`${ctx === x ? "train" : "larger"} context ${err.toExponential(2)}`);
      assert.ok(err <= TOL, `relative error ${err}`);
    }
    t.diagnostic(`max relative error of unseen-item scores: ${errs.join(", ")}`);
  });
}

/** A scratch that counts what is stored per slot: a component fitted is a component stored. */
class CountingScratch extends FitScratch {
  readonly stored = new Map<string, number>();
  override set<T>(slot: ScratchSlot<T>, key: string, value: T): T {
    this.stored.set(slot.name, (this.stored.get(slot.name) ?? 0) + 1);
    return super.set(slot, key, value);
  }
}

test("blend: one scratch across w fits each component once and gives the unshared scores", async () => {
  const x = randomBinary(40, 25, 0.2, 8);
  const context = x.add(randomBinary(40, 25, 0.05, 9));
  const scratch = new CountingScratch();
  const score = async (m: Blend): Promise<Float32Array> => {
    await m.fit(x);
    const out = new Float32Array(40 * 25);
    await m.scoreBlock(context, 0, 40, out);
    return out;
  };
  const build = (weight: number, shared?: FitScratch) => new Blend({ weight, user: { lambda: 1 }, item: { lambda: 10 }, scratch: shared });
  const first = await score(build(0.3, scratch));
  const shared = [await score(build(0.3, scratch)), await score(build(0.6, scratch)), await score(build(0.9, scratch))];
  assert.equal(scratch.stored.get("blend:component"), 2, "one ∞-AE and one EASE for three weights");
  assert.deepEqual(shared[0], first, "a cached component gives the same scores");
  assert.deepEqual(shared[1], await score(build(0.6)));
  assert.notDeepEqual(shared[0], shared[1]);
  // Another item λ is another component.
  await score(new Blend({ weight: 0.3, user: { lambda: 1 }, item: { lambda: 30 }, scratch }));
  assert.equal(scratch.stored.get("blend:component"), 3);
  scratch.clear();
});

test("blend: standardiseRows centres and scales over unseen items only, constant rows stay finite", () => {
  const ctx = InteractionMatrix.fromTriplets(2, 4, [0, 0], [0, 1]);
  const out = Float32Array.from([100, 100, 1, 3, 5, 5, 5, 5]);
  standardiseRows(out, ctx, 0, 2, new Uint8Array(4));
  assert.deepEqual([...out.subarray(2, 4)], [-1, 1]);
  assert.deepEqual([...out.subarray(4)], [0, 0, 0, 0]);
  assert.throws(() => new Blend({ weight: 1.5, user: { lambda: 1 }, item: { lambda: 1 } }), /w must be in \[0, 1\]/);
});

test("blend: the registry's grid and a quick tune on planted data (validation picks w)", async () => {
  const ds = plantedDataset(120, 40);
  const grid = MODELS.blend.gridFor(ds);
  assert.ok(grid.some((p) => p.w === 0) && grid.some((p) => p.w === 1), "w spans both single models");
  assert.ok(grid.some((p) => Number(p.itemXi) > 0) && grid.some((p) => p.itemXi === 0), "EASE and RLAE");
  const r = await tuneModel(ds, "blend", { quick: true, test: true, seed: 1 });
  assert.equal(r.points.length, 2);
  assert.ok([0.3, 0.7].includes(Number(r.hyperParameters.w)));
  assert.equal(r.hyperParameters.item, "ease");
  assert.ok(r.test!.metrics["NDCG@10"] > 0);
  // The picked point is the best by validation HR@100, never by test.
  const best = Math.max(...r.points.map((p) => p.validation.metrics["HR@100"]));
  assert.equal(r.best.validation.metrics["HR@100"], best);
});
