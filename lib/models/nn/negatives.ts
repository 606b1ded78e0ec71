/** Uniform negative sampling: items a user has no stored interaction with. */
import type { InteractionMatrix } from "../../data/matrix.ts";
import type { Rng } from "../../random.ts";

/**
 * A uniformly random item not in `user`'s row. Rejection sampling; for a user
 * who has (nearly) every item it gives up after 64 tries and returns the last
 * draw, which only adds a little label noise.
 */
export function sampleNegative(train: InteractionMatrix, user: number, rng: Rng): number {
  const ni = train.numItems;
  let j = rng.int(ni);
  for (let t = 0; t < 64 && train.has(user, j); t++) j = rng.int(ni);
  return j;
}

/** Every stored (user, item, value) entry, as parallel arrays in CSR order. */
export function positivePairs(train: InteractionMatrix): { users: Int32Array; items: Int32Array; weights: Float32Array } {
  const users = new Int32Array(train.nnz);
  for (let u = 0; u < train.numUsers; u++) users.fill(u, train.indptr[u], train.indptr[u + 1]);
  return { users, items: train.indices, weights: train.values };
}

/** One batch of `count` (user, positive, negative, weight) tuples. */
export interface PairBatch {
  users: Int32Array;
  pos: Int32Array;
  neg: Int32Array;
  weights: Float32Array | Float64Array;
  count: number;
}

export function newPairBatch(capacity: number): PairBatch {
  return {
    users: new Int32Array(capacity), pos: new Int32Array(capacity), neg: new Int32Array(capacity),
    weights: new Float32Array(capacity), count: 0,
  };
}

/**
 * Fills `batch` from positive entries order[from, to), each with one uniform
 * negative; returns nothing, batch.count = to − from.
 */
export function fillPairBatch(
  train: InteractionMatrix, pairs: ReturnType<typeof positivePairs>, order: Int32Array, from: number, to: number,
  rng: Rng, batch: PairBatch,
): void {
  for (let k = from; k < to; k++) {
    const e = order[k];
    const u = pairs.users[e];
    const b = k - from;
    batch.users[b] = u;
    batch.pos[b] = pairs.items[e];
    batch.neg[b] = sampleNegative(train, u, rng);
    batch.weights[b] = pairs.weights[e];
  }
  batch.count = to - from;
}

/** Rejects matrices a model cannot learn from: empty, or with negative / non-finite values. */
export function requireTrainable(where: string, train: InteractionMatrix): void {
  if (train.numUsers === 0 || train.numItems === 0) throw new Error(`${where}: empty training matrix (${train.numUsers}×${train.numItems})`);
  if (train.nnz === 0) throw new Error(`${where}: the training matrix has no interactions`);
  for (let k = 0; k < train.values.length; k++) {
    const v = train.values[k];
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${where}: training value ${v} at entry ${k} is not a finite weight ≥ 0`);
  }
}
