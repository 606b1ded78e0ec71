/**
 * DISTILL-CF as the replay memory of a continual learner: after period t, a
 * summary of `budget` synthetic rows is distilled (lib/distill/run.ts, ∞-AE as
 * the inner model) from the pool of period t's user rows and the previous
 * summary, and replayed at period t + 1 in place of ADER's exemplars.
 *
 * DISTILL-CF reads binary rows (its loss and its initial logits treat any
 * entry as a 1), so the previous summary enters the pool as binary rows: each
 * synthetic row keeps its `itemsPerRow` largest entries (the mean row length
 * of the period's real rows). DISTILL-CF validates its λ and its best step on
 * held-out items: each pool row with at least 2 items gives ⌈20%⌉ of them
 * (seeded) to validation, the rest to the rows it distils.
 */
import type { Dataset } from "../data/dataset.ts";
import { InteractionMatrix } from "../data/matrix.ts";
import { type RunDistillHooks, type RunDistillOptions, runDistill } from "../distill/run.ts";
import { summaryToMatrix } from "../distill/summary.ts";
import { Rng } from "../random.ts";
import { topK } from "../ranking/top-k.ts";

/** Each row's `k` largest entries as 1s (ties to the lower item), zeros dropped. */
export function binarizeTopK(m: InteractionMatrix, k: number): InteractionMatrix {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`binarizeTopK: k must be an integer ≥ 1, got ${k}`);
  const rowsItems: Int32Array[] = [];
  const dense = new Float32Array(m.numItems);
  for (let r = 0; r < m.numUsers; r++) {
    dense.fill(0);
    const items = m.rowItems(r);
    const vals = m.rowValues(r);
    for (let q = 0; q < items.length; q++) dense[items[q]] = vals[q];
    const top = topK(dense, Math.min(k, items.length)).filter((i) => dense[i] > 0);
    rowsItems.push(top.sort());
  }
  const indptr = new Int32Array(m.numUsers + 1);
  rowsItems.forEach((row, r) => (indptr[r + 1] = indptr[r] + row.length));
  const indices = new Int32Array(indptr[m.numUsers]);
  rowsItems.forEach((row, r) => indices.set(row, indptr[r]));
  return new InteractionMatrix(m.numUsers, m.numItems, indptr, indices, new Float32Array(indices.length).fill(1));
}

/** The pool as a Dataset for runDistill: rows split into distilled (train) and held-out (validation) items. */
export function distillDataset(name: string, pool: InteractionMatrix, itemIds: readonly string[], seed: number): Dataset {
  const rng = new Rng(seed);
  const tu: number[] = [];
  const ti: number[] = [];
  const vu: number[] = [];
  const vi: number[] = [];
  for (let r = 0; r < pool.numUsers; r++) {
    const items = Array.from(pool.rowItems(r));
    const held = items.length >= 2 ? Math.ceil(0.2 * items.length) : 0;
    rng.shuffle(items);
    items.forEach((i, q) => {
      (q < held ? vu : tu).push(r);
      (q < held ? vi : ti).push(i);
    });
  }
  const train = InteractionMatrix.fromTriplets(pool.numUsers, pool.numItems, tu, ti, undefined, "binary");
  const validation = InteractionMatrix.fromTriplets(pool.numUsers, pool.numItems, vu, vi, undefined, "binary");
  return {
    name,
    train,
    validation,
    test: InteractionMatrix.empty(pool.numUsers, pool.numItems),
    userIds: Array.from({ length: pool.numUsers }, (_, r) => `row${r}`),
    itemIds,
    duplicates: "binary",
  };
}

export interface DistilledMemory {
  /** The summary's rows (values in [0, 1]). */
  rows: InteractionMatrix;
  bestStep: number;
  bestScore: number | null;
  lambda: number;
}

/** Distils `pool` (binary rows) into min(budget, rows) synthetic rows. */
export async function distillMemory(
  name: string,
  pool: InteractionMatrix,
  itemIds: readonly string[],
  budget: number,
  options: Partial<Omit<RunDistillOptions, "mu">>,
  hooks: RunDistillHooks = {},
): Promise<DistilledMemory> {
  const seed = options.seed ?? 42;
  const ds = distillDataset(name, pool, itemIds, seed);
  const result = await runDistill(ds, { ...options, mu: Math.min(budget, pool.numUsers), batchSize: null }, hooks);
  return { rows: summaryToMatrix(result.summary), bestStep: result.bestStep, bestScore: result.bestScore, lambda: result.lambda };
}
