/**
 * `--train-on FILE`: the matrix a model is fitted on instead of the train
 * split — a DISTILL-CF summary, a saved split's train part, or a sampled
 * training matrix — mapped onto the dataset's item ids.
 */
import type { Dataset } from "../data/dataset.ts";
import { InteractionMatrix } from "../data/matrix.ts";
import { loadDataFile } from "../data/load-file.ts";
import { readSummaryMatrix } from "../distill/summary.ts";

/** Re-indexes a matrix over `fromItems` onto `ds`'s item ids; items the dataset lacks are an error. */
export function alignItems(m: InteractionMatrix, fromItems: readonly string[], ds: Dataset, what: string): InteractionMatrix {
  const index = new Map<string, number>();
  ds.itemIds.forEach((id, i) => index.set(id, i));
  const map = new Int32Array(fromItems.length);
  const missing: string[] = [];
  fromItems.forEach((id, i) => {
    const j = index.get(id);
    if (j === undefined) missing.push(id);
    map[i] = j ?? -1;
  });
  if (missing.length) throw new Error(`${what}: ${missing.length} item ids are not in dataset '${ds.name}' (e.g. ${missing.slice(0, 5).join(", ")})`);
  const users: number[] = [];
  const items: number[] = [];
  const values: number[] = [];
  for (let u = 0; u < m.numUsers; u++) {
    for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) {
      users.push(u);
      items.push(map[m.indices[p]]);
      values.push(m.values[p]);
    }
  }
  return InteractionMatrix.fromTriplets(m.numUsers, ds.itemIds.length, users, items, values);
}

/**
 * The matrix to fit on. A saved split keeps every user of its dataset (a
 * sampled one leaves the users it dropped empty); only users with training
 * rows are kept, so models with per-user parameters fit the sampled users
 * and fold in everyone else instead of scoring them with untrained rows.
 */
export async function loadTrainingMatrix(path: string, ds: Dataset): Promise<{ matrix: InteractionMatrix; summary: boolean }> {
  const summary = await readSummaryMatrix(path);
  if (summary) return { matrix: alignItems(summary.matrix, summary.itemIds, ds, path), summary: true };
  const other = await loadDataFile(path);
  const aligned = alignItems(other.train, other.itemIds, ds, path);
  const users: number[] = [];
  for (let u = 0; u < aligned.numUsers; u++) if (aligned.rowNnz(u) > 0) users.push(u);
  if (users.length === 0) throw new Error(`${path}: the training matrix has no interactions`);
  const matrix = users.length === aligned.numUsers ? aligned : aligned.selectUsers(Int32Array.from(users));
  return { matrix, summary: false };
}
