/** The float64-solve ∞-AE for summaries agrees with lib/models/infinite-ae/model.ts where both are well conditioned. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InteractionMatrix } from "../../../lib/data/matrix.ts";
import { ntkGramReference } from "../../../lib/ntk/ntk.ts";
import { InfiniteAEFloat64 } from "../../../lib/models/infinite-ae/float64.ts";
import { InfiniteAE } from "../../../lib/models/infinite-ae/model.ts";
import { FitScratch } from "../../../lib/models/scratch.ts";

test("float64 small-support path matches the float32 ONNX path at λ = 1 on weighted rows (rel err ≤ 1e-4)", async (t) => {
  let s = 7;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const users: number[] = [];
  const items: number[] = [];
  const values: number[] = [];
  for (let u = 0; u < 12; u++) for (let i = 0; i < 30; i++) if (rand() < 0.3) { users.push(u); items.push(i); values.push(rand()); }
  const summary = InteractionMatrix.fromTriplets(12, 30, users, items, values);
  const cu: number[] = [];
  const ci: number[] = [];
  for (let u = 0; u < 9; u++) for (let i = 0; i < 30; i++) if (rand() < 0.2) { cu.push(u); ci.push(i); }
  const context = InteractionMatrix.fromTriplets(9, 30, cu, ci);
  const a = new InfiniteAEFloat64({ lambda: 1 });
  const b = new InfiniteAE({ lambda: 1, precision: "float32" });
  await a.fit(summary);
  await b.fit(summary);
  const sa = new Float32Array(9 * 30);
  const sb = new Float32Array(9 * 30);
  await a.scoreBlock(context, 0, 9, sa);
  await b.scoreBlock(context, 0, 9, sb);
  let num = 0;
  let den = 0;
  for (let i = 0; i < sa.length; i++) {
    num += (sa[i] - sb[i]) ** 2;
    den += sb[i] ** 2;
  }
  const e = Math.sqrt(num / den);
  t.diagnostic(`relative error ${e.toExponential(2)}`);
  assert.ok(e <= 1e-4, `relative error ${e}`);
  assert.throws(() => new InfiniteAEFloat64({ lambda: -1 }), /λ must be finite and ≥ 0/);
});

test("InfiniteAE delegates small supports to float64 and keeps a tiny residual at λ = 1e-5 on a summary-like matrix", async () => {
  // Dense near-uniform rows, like a τ = 10 DISTILL-CF summary: a very ill-conditioned kernel.
  let s = 3;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const n = 60;
  const m = 80;
  const users: number[] = [];
  const items: number[] = [];
  const values: number[] = [];
  for (let u = 0; u < n; u++) for (let i = 0; i < m; i++) (users.push(u), items.push(i), values.push(0.15 + 0.1 * rand()));
  const summary = InteractionMatrix.fromTriplets(n, m, users, items, values);
  const model = new InfiniteAE({ lambda: 1e-5 });
  await model.fit(summary);
  assert.equal(model.hyperParameters().solve, "float64");
  // The float64 solve's residual against a float64 reference kernel.
  const f64 = new InfiniteAEFloat64({ lambda: 1e-5 });
  await f64.fit(summary);
  const x = summary.denseRows(0, n);
  const k = ntkGramReference(x, n, x, n, m, 1);
  const alpha = f64.alpha64;
  const c = f64.shift;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < m; t++) {
      let r = c * alpha[i * m + t] - x[i * m + t];
      for (let j = 0; j < n; j++) r += k[i * n + j] * alpha[j * m + t];
      num += r * r;
      den += x[i * m + t] ** 2;
    }
  }
  assert.ok(Math.sqrt(num / den) < 1e-4, `relative residual ${Math.sqrt(num / den)}`);
});

test("float64 path: a shared scratch reuses K(S,S) and the users' kernel rows across λ bit for bit; float32 scores stay within 1e-5", async (t) => {
  let s = 11;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const users: number[] = [];
  const items: number[] = [];
  const values: number[] = [];
  for (let u = 0; u < 15; u++) for (let i = 0; i < 40; i++) if (rand() < 0.4) (users.push(u), items.push(i), values.push(0.2 + rand()));
  const summary = InteractionMatrix.fromTriplets(15, 40, users, items, values);
  const cu: number[] = [];
  const ci: number[] = [];
  for (let u = 0; u < 11; u++) for (let i = 0; i < 40; i++) if (rand() < 0.2) (cu.push(u), ci.push(i));
  const context = InteractionMatrix.fromTriplets(11, 40, cu, ci);
  const scratch = new FitScratch();
  const scores = async (lambda: number, opts: { scratch?: FitScratch; scorePrecision?: "float32" }): Promise<Float32Array> => {
    const m = new InfiniteAEFloat64({ lambda, ...opts });
    await m.fit(summary);
    const out = new Float32Array(11 * 40);
    await m.scoreBlock(context, 0, 6, out.subarray(0, 6 * 40));
    await m.scoreBlock(context, 6, 11, out.subarray(6 * 40));
    return out;
  };
  for (const lambda of [1e-3, 0.5, 5]) {
    const fresh = await scores(lambda, {});
    const shared = await scores(lambda, { scratch });
    assert.deepEqual(Array.from(shared), Array.from(fresh), `λ ${lambda}: scratch reuse changed the scores`);
  }
  const f64 = await scores(1, {});
  const f32 = await scores(1, { scorePrecision: "float32", scratch });
  let num = 0;
  let den = 0;
  for (let i = 0; i < f64.length; i++) (num += (f32[i] - f64[i]) ** 2), (den += f64[i] ** 2);
  t.diagnostic(`float32 scores: relative error ${Math.sqrt(num / den).toExponential(2)}`);
  assert.ok(Math.sqrt(num / den) <= 1e-5);
  assert.throws(() => new InfiniteAEFloat64({ lambda: 1, scorePrecision: "half" as "float32" }), /scorePrecision must be float64 or float32, got half/);
});
