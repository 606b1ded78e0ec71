/** Behaviour every baseline shares, checked on the planted dataset. */
import assert from "node:assert/strict";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { evaluate } from "../../lib/eval/evaluate.ts";
import type { Recommender } from "../../lib/models/model.ts";
import { Rng } from "../../lib/random.ts";
import { plantedDataset } from "./synthetic.ts";

/**
 * Fits on the first 60 users only (values scaled into [0, 1] like a distilled
 * summary), then scores all 200 users from their histories: the ranking must
 * beat random by a wide margin (random HR@10 ≈ 0.38 × 100 here).
 */
export async function checkSubsetFoldIn(build: () => Recommender, minHr10 = 65): Promise<number> {
  const ds = plantedDataset();
  const subset = ds.train.selectUsers(Array.from({ length: 60 }, (_, u) => u));
  const weighted = new InteractionMatrix(
    subset.numUsers, subset.numItems, subset.indptr, subset.indices, subset.values.map((_, k) => 0.5 + 0.5 * ((k * 7) % 3) / 2),
  );
  const m = build();
  await m.fit(weighted, { seed: 3 });
  const r = await evaluate(m, ds, { split: "test" });
  assert.equal(r.users, 200);
  assert.ok(r.metrics["HR@10"] > minHr10, `${m.name} on all users after subset fit: HR@10 ${r.metrics["HR@10"]}`);
  return r.metrics["HR@10"];
}

/** An n × m binary matrix with each entry set with probability `density` (seeded). */
export function randomBinary(n: number, m: number, density: number, seed: number): InteractionMatrix {
  const rng = new Rng(seed);
  const us: number[] = [];
  const is: number[] = [];
  for (let u = 0; u < n; u++) for (let i = 0; i < m; i++) if (rng.next() < density) (us.push(u), is.push(i));
  return InteractionMatrix.fromTriplets(n, m, us, is);
}

/** max |a − b| / max |b|: the error relative to the block's scale (near-zero entries do not blow it up). */
export function blockRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** Max |got − want| over unseen (user, item) pairs, relative to max |want| there (seen items are masked in every ranking). */
export function unseenRelativeError(ctx: InteractionMatrix, got: Float32Array, want: Float64Array): number {
  const m = ctx.numItems;
  let num = 0;
  let den = 0;
  for (let u = 0; u < ctx.numUsers; u++) for (let j = 0; j < m; j++) {
    if (ctx.has(u, j)) continue;
    num = Math.max(num, Math.abs(got[u * m + j] - want[u * m + j]));
    den = Math.max(den, Math.abs(want[u * m + j]));
  }
  return num / den;
}
