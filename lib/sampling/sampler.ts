/**
 * Down-sampling of training data (the paper's Figures 1–4; docs/protocol.md §5).
 *
 * A Sampler takes the training matrix only — validation and test rows are
 * never seen, so they cannot be touched — and returns a smaller training
 * matrix that any model can be fitted on, while real users are still scored
 * and evaluated on the full dataset (gridSearch's `train` option).
 *
 * Budgets say what is KEPT:
 * - `{ interactions: f }`: keep the share f ∈ (0, 1] of the stored training
 *   entries (distinct user–item pairs). User samplers drop whole users until
 *   at most round(f · nnz) entries remain, so they keep within one user's
 *   interactions of the target.
 * - `{ users: n }`: keep n users (of those with ≥ 1 training entry). Samplers
 *   that drop interactions rather than users (interaction RNS) read it as the
 *   share n / (users with entries) of the interactions: "n users' worth of data".
 *
 * The sampled matrix is COMPACT: row r of `train` is the real user
 * `keptUsers[r]` (increasing order), so models fit only on kept users (∞-AE
 * would otherwise count empty rows as support users). `expandSample` puts the
 * rows back at their users' indices when a full-shape matrix is needed (saved
 * splits). DISTILL-CF rows are synthetic users (`synthetic: true`).
 */
import { InteractionMatrix } from "../data/matrix.ts";

export type Budget = { interactions: number } | { users: number };

export interface SampleResult {
  /** The training matrix to fit on (compact: one row per kept or synthetic user). */
  train: InteractionMatrix;
  /**
   * Real user behind each row of `train`, increasing. For synthetic
   * summaries: the real user whose row initialised each synthetic row.
   */
  keptUsers: Int32Array;
  /** Stored entries of `train` (distinct user–item pairs; for summaries, nonzero weights). */
  keptInteractions: number;
  /** True when the rows are synthetic users (DISTILL-CF), not real ones. */
  synthetic: boolean;
  /** Sampler-specific facts worth reporting (e.g. DISTILL-CF's picked λ). */
  info?: Record<string, number | string>;
}

export interface Sampler {
  /** Registry name, e.g. "user-random". */
  readonly name: string;
  sample(train: InteractionMatrix, budget: Budget, seed: number): Promise<SampleResult>;
}

/** Users with at least one training entry, increasing. */
export function usersWithInteractions(train: InteractionMatrix): Int32Array {
  let n = 0;
  for (let u = 0; u < train.numUsers; u++) if (train.rowNnz(u) > 0) n++;
  const out = new Int32Array(n);
  for (let u = 0, k = 0; u < train.numUsers; u++) if (train.rowNnz(u) > 0) out[k++] = u;
  return out;
}

/** Checks a budget against a training matrix; returns it in normalised form. */
export function checkBudget(train: InteractionMatrix, budget: Budget): Budget {
  if (train.nnz === 0) throw new Error("sampler: the training matrix has no interactions");
  if ("interactions" in budget) {
    const f = budget.interactions;
    if (!(f > 0 && f <= 1)) throw new Error(`sampler: interaction budget must be a share in (0, 1], got ${f}`);
    if (Math.round(f * train.nnz) < 1) throw new Error(`sampler: interaction budget ${f} keeps no interaction of ${train.nnz}`);
    return { interactions: f };
  }
  if ("users" in budget) {
    const n = budget.users;
    const available = usersWithInteractions(train).length;
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`sampler: user budget must be a positive integer, got ${n}`);
    if (n > available) throw new Error(`sampler: user budget ${n} exceeds the ${available} users with training interactions`);
    return { users: n };
  }
  throw new Error(`sampler: a budget is {interactions: share} or {users: count}, got ${JSON.stringify(budget)}`);
}

/** The share of interactions a budget asks for ({users: n} → n / users with entries). */
export function interactionShare(train: InteractionMatrix, budget: Budget): number {
  const b = checkBudget(train, budget);
  if ("interactions" in b) return b.interactions;
  return b.users / usersWithInteractions(train).length;
}

/** A compact result keeping the given users' full rows. */
export function keepUsers(train: InteractionMatrix, users: Int32Array): SampleResult {
  const kept = Int32Array.from(users).sort();
  const compact = train.selectUsers(kept);
  return { train: compact, keptUsers: kept, keptInteractions: compact.nnz, synthetic: false };
}

/**
 * Keeps users by a drop order (every user with entries, the first dropped
 * first): exactly `n` users for a user budget, or drops users until at most
 * round(f · nnz) entries remain for an interaction budget.
 */
export function keepByDropOrder(train: InteractionMatrix, dropOrder: Int32Array, budget: Budget): SampleResult {
  const b = checkBudget(train, budget);
  let from: number;
  if ("users" in b) {
    from = dropOrder.length - b.users;
  } else {
    const target = Math.round(b.interactions * train.nnz);
    let kept = train.nnz;
    from = 0;
    while (from < dropOrder.length && kept > target) kept -= train.rowNnz(dropOrder[from++]);
    if (from === dropOrder.length) from--; // never drop everyone: keep the last user
  }
  return keepUsers(train, dropOrder.subarray(from));
}

/**
 * The sample as a full-shape matrix (numUsers rows, dropped users empty), for
 * saving as a split whose validation and test rows stay as they were.
 */
export function expandSample(result: SampleResult, numUsers: number): InteractionMatrix {
  if (result.synthetic) throw new Error("expandSample: synthetic rows (DISTILL-CF) belong to no real user");
  const { train, keptUsers } = result;
  if (keptUsers.length !== train.numUsers) throw new Error(`expandSample: ${keptUsers.length} kept users for ${train.numUsers} rows`);
  const indptr = new Int32Array(numUsers + 1);
  for (let r = 0; r < keptUsers.length; r++) {
    const u = keptUsers[r];
    if (!(u >= 0 && u < numUsers) || (r > 0 && u <= keptUsers[r - 1])) throw new Error(`expandSample: kept user ${u} out of order or outside 0..${numUsers - 1}`);
    indptr[u + 1] = train.rowNnz(r);
  }
  for (let u = 0; u < numUsers; u++) indptr[u + 1] += indptr[u];
  return new InteractionMatrix(numUsers, train.numItems, indptr, train.indices.slice(), train.values.slice());
}
