/**
 * ADER (Mi, Lin and Faltings, RecSys 2020: adaptively distilled exemplar
 * replay), carried from session sequences over to Mult-VAE's user rows:
 *
 * - Exemplars: after training at period t, `budget` rows are chosen from the
 *   pool (period t's user rows and the previous exemplars) by herding (as in
 *   iCaRL, which ADER uses): greedily, the row whose L2-normalised encoder mean
 *   brings the running mean of the chosen rows' features closest to the pool's
 *   mean feature. ADER herds per next item with per-item quotas proportional to
 *   item frequency; a Mult-VAE row has no single next item, so we herd the
 *   pool as a whole.
 * - Adaptive distillation: at period t + 1 the exemplars are replayed with
 *   the previous model's predictions as soft targets: the target of an exemplar
 *   row with n items is λ_t · n · p̂, where p̂ is the previous model's softmax
 *   restricted to the items seen before period t + 1 and renormalised (ADER's
 *   knowledge-distillation term over the old items; n puts it on the scale of a
 *   Mult-VAE row's likelihood, which sums over the row's n items). The new
 *   period's rows are trained on as usual (ADER's cross-entropy term).
 * - λ_t = λ_base · √((|I_old| / |I_new|) · (|E| / |D|)): |I_old| items seen before
 *   the new period, |I_new| items seen up to and including it, |E| exemplars, |D|
 *   the new period's rows (ADER's adaptive weight).
 */
import { InteractionMatrix } from "../data/matrix.ts";
import type { ContinualVae } from "./vae-learner.ts";

/** ADER's adaptive distillation weight. */
export function aderLambda(lambdaBase: number, oldItems: number, newItems: number, exemplars: number, newRows: number): number {
  if (!(oldItems > 0 && newItems >= oldItems && exemplars >= 0 && newRows > 0)) {
    throw new Error(`aderLambda: need 0 < old items (${oldItems}) ≤ new items (${newItems}), exemplars ≥ 0 (${exemplars}), new rows > 0 (${newRows})`);
  }
  return lambdaBase * Math.sqrt((oldItems / newItems) * (exemplars / newRows));
}

/**
 * Herding: indices of `budget` rows of `features` (rows × dim) whose mean best
 * tracks the mean of all rows, in the order chosen. Features are L2-normalised
 * first; ties go to the lower row. All rows when budget ≥ rows.
 */
export function herding(features: Float64Array, rows: number, dim: number, budget: number): Int32Array {
  if (features.length !== rows * dim) throw new Error(`herding: ${features.length} features for ${rows} × ${dim}`);
  const f = features.slice();
  for (let r = 0; r < rows; r++) {
    let n2 = 0;
    for (let j = 0; j < dim; j++) n2 += f[r * dim + j] ** 2;
    const s = n2 > 0 ? 1 / Math.sqrt(n2) : 0;
    for (let j = 0; j < dim; j++) f[r * dim + j] *= s;
  }
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) mean[j] += f[r * dim + j] / rows;
  const count = Math.min(budget, rows);
  const chosen = new Int32Array(count);
  const taken = new Uint8Array(rows);
  const sum = new Float64Array(dim);
  for (let k = 0; k < count; k++) {
    let best = -1;
    let bestDist = Infinity;
    for (let r = 0; r < rows; r++) {
      if (taken[r]) continue;
      let d = 0;
      for (let j = 0; j < dim; j++) d += (mean[j] - (sum[j] + f[r * dim + j]) / (k + 1)) ** 2;
      if (d < bestDist) {
        bestDist = d;
        best = r;
      }
    }
    chosen[k] = best;
    taken[best] = 1;
    for (let j = 0; j < dim; j++) sum[j] += f[best * dim + j];
  }
  return chosen;
}

/** Chooses ADER's exemplars from `pool` (rows) with `model`'s encoder; returns them as rows. */
export function chooseExemplars(model: ContinualVae, pool: InteractionMatrix, budget: number): InteractionMatrix {
  const rows = Int32Array.from({ length: pool.numUsers }, (_, k) => k);
  const features = model.encoderMeans(pool, rows);
  const chosen = herding(features, pool.numUsers, model.shape.latent, budget);
  return pool.selectUsers(chosen);
}

/**
 * Distillation targets of the exemplar rows: row r's target is
 * λ · |row r| · softmax(teacher logits over the `oldItems`), zero elsewhere.
 */
export function distillationTargets(teacher: ContinualVae, exemplars: InteractionMatrix, oldItems: Uint8Array, lambda: number): InteractionMatrix {
  const items = exemplars.numItems;
  const rows = exemplars.numUsers;
  const old: number[] = [];
  for (let i = 0; i < items; i++) if (oldItems[i]) old.push(i);
  if (old.length === 0) throw new Error("distillationTargets: no old items");
  const logits = new Float32Array(rows * items);
  teacher.logits(exemplars, Int32Array.from({ length: rows }, (_, k) => k), logits);
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(rows * old.length);
  const values = new Float32Array(rows * old.length);
  for (let r = 0; r < rows; r++) {
    const o = r * items;
    let mx = -Infinity;
    for (const i of old) mx = Math.max(mx, logits[o + i]);
    let se = 0;
    for (const i of old) se += Math.exp(logits[o + i] - mx);
    const mass = lambda * exemplars.rowValues(r).reduce((a, b) => a + b, 0);
    const q0 = r * old.length;
    old.forEach((i, k) => {
      indices[q0 + k] = i;
      values[q0 + k] = (mass * Math.exp(logits[o + i] - mx)) / se;
    });
    indptr[r + 1] = q0 + old.length;
  }
  return new InteractionMatrix(rows, items, indptr, indices, values);
}
