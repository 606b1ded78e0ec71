/**
 * The continual-learning protocol of the paper's Figure 5: interactions cut by
 * time into equal-sized periods (lib/data/periods.ts); after training on what a
 * method may keep at period t, the model ranks for period t + 1.
 *
 * What is evaluated at period t + 1 (the same for every method):
 * - users: those with an interaction in periods 0..t ("seen") and at least one
 *   target; users first seen in period t + 1 have no history to score from and
 *   are left out (counted in `newUsers`);
 * - targets: the user's period-(t + 1) items that some user interacted with in
 *   periods 0..t; items first seen in period t + 1 cannot be ranked by a model
 *   that never saw them and are dropped (counted in `unseenItemTargets`), and so
 *   are items already in the user's history (re-ratings, `repeatTargets`);
 * - context: the user's whole history in periods 0..t, whatever the method kept
 *   for training (serving reads the user's own past);
 * - ranking: over the items seen in periods 0..t, the user's history masked;
 *   ties go to the lower item index (lib/ranking/top-k.ts);
 * - HR@k and NDCG@k as in docs/protocol.md §3 (min(|targets|, k) in the
 *   denominators), averaged over the evaluated users only (most seen users are
 *   idle in a given period, and counting them as zeros would measure activity).
 */
import { InteractionMatrix } from "../data/matrix.ts";
import { rowsToMatrix, splitByTime, type TimePeriod } from "../data/periods.ts";
import type { RawInteractions } from "../data/text.ts";
import { hitRate, ndcg } from "../eval/metrics.ts";
import { topK } from "../ranking/top-k.ts";

/** A log cut into periods, as binary users × items matrices over the whole file's id space. */
export interface PeriodData {
  readonly source: string;
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
  readonly periods: readonly TimePeriod[];
  /** Period p's interactions (binary: a re-rated pair counts once). */
  readonly matrices: readonly InteractionMatrix[];
  /** Periods 0..p together (binary). */
  readonly histories: readonly InteractionMatrix[];
}

export function periodData(raw: RawInteractions, periods: number): PeriodData {
  const cut = splitByTime(raw, periods);
  const matrices = cut.map((p) => rowsToMatrix(raw, p.rows, "binary"));
  const histories: InteractionMatrix[] = [];
  for (const m of matrices) histories.push(histories.length ? histories[histories.length - 1].add(m).binarized() : m);
  return { source: raw.source, userIds: raw.userIds, itemIds: raw.itemIds, periods: cut, matrices, histories };
}

/** Users with at least one interaction in the matrix, ascending. */
export function activeUsers(m: InteractionMatrix): Int32Array {
  const out: number[] = [];
  for (let u = 0; u < m.numUsers; u++) if (m.rowNnz(u) > 0) out.push(u);
  return Int32Array.from(out);
}

/** 1 for every item with an interaction in the matrix. */
export function seenItems(m: InteractionMatrix): Uint8Array {
  const seen = new Uint8Array(m.numItems);
  for (let q = 0; q < m.nnz; q++) seen[m.indices[q]] = 1;
  return seen;
}

/** Rows stacked on top of each other (same item space). */
export function stackRows(parts: readonly InteractionMatrix[]): InteractionMatrix {
  if (parts.length === 0) throw new Error("stackRows: nothing to stack");
  const items = parts[0].numItems;
  let rows = 0;
  let nnz = 0;
  for (const m of parts) {
    if (m.numItems !== items) throw new Error(`stackRows: item counts differ (${items} vs ${m.numItems})`);
    rows += m.numUsers;
    nnz += m.nnz;
  }
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let r = 0;
  let q = 0;
  for (const m of parts) {
    indices.set(m.indices, q);
    values.set(m.values, q);
    for (let u = 0; u < m.numUsers; u++) indptr[++r] = q + m.indptr[u + 1];
    q += m.nnz;
  }
  return new InteractionMatrix(rows, items, indptr, indices, values);
}

/** What one next-period evaluation looked at and scored. */
export interface NextPeriodTask {
  /** Users evaluated (seen before, with targets), ascending. */
  readonly users: Int32Array;
  /** Their targets, one set per user. */
  readonly targets: ReadonlySet<number>[];
  /** Items seen in periods 0..t (rankable). */
  readonly rankable: Uint8Array;
  /** The context of scoring: periods 0..t. */
  readonly history: InteractionMatrix;
  /** Users active in period t + 1 but unseen before it. */
  readonly newUsers: number;
  /** Next-period interactions of seen users with items unseen before it (dropped). */
  readonly unseenItemTargets: number;
  /** Next-period interactions with items already in the user's history (dropped). */
  readonly repeatTargets: number;
}

/** The evaluation of the model trained at period t on period t + 1 (see the module comment). */
export function nextPeriodTask(data: PeriodData, t: number): NextPeriodTask {
  if (!(Number.isInteger(t) && t >= 0 && t + 1 < data.matrices.length)) throw new Error(`nextPeriodTask: period ${t} has no next period (${data.matrices.length} periods)`);
  const history = data.histories[t];
  const next = data.matrices[t + 1];
  const rankable = seenItems(history);
  const users: number[] = [];
  const targets: Set<number>[] = [];
  let newUsers = 0;
  let unseenItemTargets = 0;
  let repeatTargets = 0;
  for (let u = 0; u < next.numUsers; u++) {
    if (next.rowNnz(u) === 0) continue;
    if (history.rowNnz(u) === 0) {
      newUsers++;
      continue;
    }
    const set = new Set<number>();
    for (const i of next.rowItems(u)) {
      if (!rankable[i]) unseenItemTargets++;
      else if (history.has(u, i)) repeatTargets++;
      else set.add(i);
    }
    if (set.size) {
      users.push(u);
      targets.push(set);
    }
  }
  return { users: Int32Array.from(users), targets, rankable, history, newUsers, unseenItemTargets, repeatTargets };
}

/** Scores (rows × items, row-major) of the given users with `context` rows as their input. */
export type ContextScorer = (context: InteractionMatrix, users: Int32Array, out: Float32Array) => void;

export interface NextPeriodMetrics {
  "HR@10": number;
  "NDCG@10": number;
  users: number;
  targets: number;
}

/** HR@10 and NDCG@10 (× 100) of a scorer on a task; scores users in blocks of `block`. */
export function evaluateNextPeriod(task: NextPeriodTask, score: ContextScorer, block = 256): NextPeriodMetrics {
  const k = 10;
  const items = task.history.numItems;
  const n = task.users.length;
  if (n === 0) throw new Error("evaluateNextPeriod: no user has a target in the next period");
  const scores = new Float32Array(Math.min(block, n) * items);
  let hr = 0;
  let nd = 0;
  let targets = 0;
  for (let from = 0; from < n; from += block) {
    const users = task.users.subarray(from, Math.min(n, from + block));
    score(task.history, users, scores);
    for (let r = 0; r < users.length; r++) {
      const row = scores.subarray(r * items, (r + 1) * items);
      for (let i = 0; i < items; i++) if (!task.rankable[i]) row[i] = -Infinity;
      for (const i of task.history.rowItems(users[r])) row[i] = -Infinity;
      const top = topK(row, k);
      const set = task.targets[from + r];
      hr += hitRate(top, set, k);
      nd += ndcg(top, set, k);
      targets += set.size;
    }
  }
  return { "HR@10": (100 * hr) / n, "NDCG@10": (100 * nd) / n, users: n, targets };
}
