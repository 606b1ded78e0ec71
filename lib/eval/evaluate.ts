/**
 * The paper's evaluation protocol (docs/protocol.md §3): score every user in
 * bounded-memory blocks, mask the context items, rank all items, and average
 * HR / NDCG / PSP over all users (users without targets add 0) and a pooled AUC.
 * Recall, Precision, MAP, MRR and catalogue coverage are there on request
 * (`metrics`), computed from the same top-k lists on the host and device paths.
 */
import { Float32ScratchPool } from "../util/scratch-pool.ts";
import type { Dataset } from "../data/dataset.ts";
import type { InteractionMatrix } from "../data/matrix.ts";
import { Rng } from "../random.ts";
import { randomTieOrder, type TieOrder, topK } from "../ranking/top-k.ts";
import { topKRows } from "../ranking/top-k-graph.ts";
import { type Backend, getBackend } from "../onnx/backend.ts";
import { auc, CoverageCounter, inversePropensity, type PspNormalisation } from "./metrics.ts";
import { USER_METRIC_FAMILIES, UserMetrics } from "./user-metrics.ts";
import { isRanker, type Ranker, type Scorer } from "./scorer.ts";

export type EvalSplit = "validation" | "test";
export type TieRule = "index" | "random";

/** Metric families, in report order; each but AUC is reported per cut-off ("HR@10"). */
export const METRIC_FAMILIES = ["AUC", "HR", "NDCG", "PSP", "Recall", "Precision", "MAP", "MRR", "Coverage"] as const;
export type MetricFamily = (typeof METRIC_FAMILIES)[number];
/** The paper's metrics (Table 1): what evaluate computes unless asked for more. */
export const PAPER_METRICS: readonly MetricFamily[] = Object.freeze(["AUC", "HR", "NDCG", "PSP"]);

/** The family of a metric name: "NDCG@10" → "NDCG", "AUC" → "AUC". */
export function metricFamily(name: string): string {
  const at = name.indexOf("@");
  return at < 0 ? name : name.slice(0, at);
}

/** Per-user values of every per-user metric (× 100 as in Metrics; AUC a fraction), users with targets only. */
export interface PerUserMetrics {
  /** Dense user indices, ascending. */
  users: Int32Array;
  /** Each user's number of target items. */
  targets: Int32Array;
  /** Metric name → one value per listed user ("AUC" is that user's own pairs' AUC; NaN without negatives). */
  values: Record<string, Float64Array>;
}

export interface EvaluateOptions {
  split?: EvalSplit;
  /** Cut-offs (default [10, 100]). */
  ks?: number[];
  /** Users per scoring block (default: about 64 MB of scores). */
  blockSize?: number;
  psp?: PspNormalisation;
  /** Negatives per user for AUC (default 50); 0 skips AUC. */
  aucNegatives?: number;
  /** Seed of the AUC negatives (default 42). */
  seed?: number;
  /**
   * How equal scores are ranked: "index" (lower item index first, the
   * default) or "random" (a seeded random item order, `tieSeed`, default 42).
   * The official code's NumPy sort orders ties arbitrarily; "random" matches
   * it on average, "index" favours low item indices.
   */
  ties?: TieRule;
  tieSeed?: number;
  /**
   * Let a model that can rank on its device (a Ranker) do so, so that only k
   * indices per user come back (default true; metrics are the same either way).
   */
  rankOnDevice?: boolean;
  /**
   * Where the host path's top-k runs: "ort" (one ORT TopK per block on the CPU
   * backend, native and multi-threaded), "typescript" (per user) or "auto"
   * (default: ORT from ORT_TOPK_MIN_VALUES scores up, where it repays ORT's
   * start-up; Magazine's 4M scores rank faster in TypeScript than ORT loads).
   * Same rankings either way.
   */
  topK?: "auto" | "ort" | "typescript";
  /** Metric families to compute (default PAPER_METRICS), reported in METRIC_FAMILIES order. */
  metrics?: readonly MetricFamily[];
  /** Also return each user's metric values (`perUser`). */
  perUser?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Metric name → value: "AUC" (a fraction), "HR@10", "NDCG@10", "PSP@10", … (× 100). */
export type Metrics = Record<string, number>;

export interface EvaluationResult {
  split: EvalSplit;
  users: number;
  /** Users with at least one target item. */
  usersWithTargets: number;
  metrics: Metrics;
  /** With `perUser`. */
  perUser?: PerUserMetrics;
}

/** The context rows, mask and targets for a split of a dataset. */
export interface SplitView {
  context: InteractionMatrix;
  targets: InteractionMatrix;
  /** Items excluded from the ranking (the context's items). */
  mask: InteractionMatrix;
  /** Items that may not serve as AUC negatives: train and test items. */
  aucExclude: InteractionMatrix;
}

/** Split views per dataset: a grid search evaluates the same split many times. */
const views = new WeakMap<Dataset, Partial<Record<EvalSplit, SplitView>> & { aucExclude?: InteractionMatrix }>();

/** The view of a split, built once per dataset object (datasets are not modified in place). */
export function splitView(ds: Dataset, split: EvalSplit): SplitView {
  let cached = views.get(ds);
  if (cached === undefined) views.set(ds, (cached = {}));
  // One exclusion matrix for both splits, so their AUC negatives are sampled once (aucNegativesOf).
  const aucExclude = (cached.aucExclude ??= ds.train.add(ds.test));
  return (cached[split] ??= buildSplitView(ds, split, aucExclude));
}

function buildSplitView(ds: Dataset, split: EvalSplit, aucExclude: InteractionMatrix): SplitView {
  if (split === "validation") return { context: ds.train, targets: ds.validation, mask: ds.train, aucExclude };
  const context = ds.train.add(ds.validation);
  return { context, targets: ds.test, mask: context, aucExclude };
}

/**
 * AUC negatives: per user, `count` distinct random items in neither its train
 * nor its test items (they may be validation items). Fixed by the seed, and the
 * same for validation and test.
 */
export function sampleAucNegatives(exclude: InteractionMatrix, count: number, seed: number): Int32Array[] {
  const rng = new Rng(seed);
  const out: Int32Array[] = [];
  const ni = exclude.numItems;
  // mark[i] = u: item i is excluded for user u or already drawn (the same draws as a Set and has(), without their cost).
  const mark = new Int32Array(ni).fill(-1);
  const drawn = new Int32Array(Math.max(0, count));
  for (let u = 0; u < exclude.numUsers; u++) {
    const excl = exclude.rowItems(u);
    const free = ni - excl.length;
    const want = Math.min(count, free);
    if (want > free / 2) {
      // Dense case: shuffle the free items.
      const pool: number[] = [];
      for (let i = 0, p = 0; i < ni; i++) {
        if (p < excl.length && excl[p] === i) p++;
        else pool.push(i);
      }
      rng.shuffle(pool);
      out.push(Int32Array.from(pool.slice(0, want)));
      continue;
    }
    for (const i of excl) mark[i] = u;
    let got = 0;
    while (got < want) {
      const i = rng.int(ni);
      if (mark[i] !== u) {
        mark[i] = u;
        drawn[got++] = i;
      }
    }
    out.push(drawn.slice(0, want));
  }
  return out;
}

/** sampleAucNegatives, remembered per exclusion matrix, count and seed (every candidate of a grid uses the same). */
const negativesCache = new WeakMap<InteractionMatrix, Map<string, Int32Array[]>>();
function aucNegativesOf(exclude: InteractionMatrix, count: number, seed: number): Int32Array[] {
  let byKey = negativesCache.get(exclude);
  if (byKey === undefined) negativesCache.set(exclude, (byKey = new Map()));
  const key = `${count}:${seed}`;
  let negatives = byKey.get(key);
  if (negatives === undefined) byKey.set(key, (negatives = sampleAucNegatives(exclude, count, seed)));
  return negatives;
}

/** Score blocks, reused across evaluations (a grid evaluates many times; see scratch-pool.ts). */
const scorePool = new Float32ScratchPool(1);

export function defaultBlockSize(numItems: number): number {
  return Math.max(1, Math.min(2048, Math.floor((1 << 24) / Math.max(1, numItems))));
}

export async function evaluate(model: Scorer, ds: Dataset, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const split = options.split ?? "test";
  const view = splitView(ds, split);
  return evaluateView(model, view, ds.train, { ...options, split });
}

/** Evaluation on an explicit context / targets / mask (e.g. real users scored by a model fitted on a summary). */
export async function evaluateView(
  model: Scorer,
  view: SplitView,
  train: InteractionMatrix,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const split = options.split ?? "test";
  const ks = options.ks ?? [10, 100];
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new Error(`evaluate: bad cut-off k = ${k}`);
  const { context, targets, mask } = view;
  const nu = context.numUsers;
  const ni = context.numItems;
  if (nu === 0 || ni === 0) throw new Error(`evaluate: empty dataset (${nu} users, ${ni} items)`);
  if (targets.numUsers !== nu || mask.numUsers !== nu) throw new Error("evaluate: context, targets and mask differ in users");
  const kmax = Math.max(...ks);
  const families = metricFamilies(options.metrics);
  const weights = inversePropensity(train.itemCounts(), train.total);
  const normalisation = options.psp ?? "official";
  const nNeg = options.aucNegatives ?? 50;
  const negatives = nNeg > 0 && families.has("AUC") ? aucNegativesOf(view.aucExclude, nNeg, options.seed ?? 42) : null;
  // Each user's (score, label) pairs for AUC at [pairFrom[u], pairTo[u]), users in order,
  // targets then negatives: laid out before scoring, so both loops only write scores.
  const pairFrom = new Int32Array(nu);
  const pairTo = new Int32Array(nu);
  let pairCount = 0;
  if (negatives) {
    for (let u = 0; u < nu; u++) {
      const t = targets.rowItems(u).length;
      pairFrom[u] = pairCount;
      if (t > 0) pairCount += t + negatives[u].length;
      pairTo[u] = pairCount;
    }
  }
  const aucScores = new Float64Array(pairCount);
  const aucLabels = new Uint8Array(pairCount);
  if (negatives) for (let u = 0; u < nu; u++) if (pairTo[u] > pairFrom[u]) aucLabels.fill(1, pairFrom[u], pairFrom[u] + targets.rowItems(u).length);

  // Per-user families in one pass per user (user-metrics.ts: bit-identical to metrics.ts's functions).
  const perK = USER_METRIC_FAMILIES.filter((f) => families.has(f));
  const userMetrics = new UserMetrics(ks, perK, ni, weights, normalisation);
  const sums = new Float64Array(userMetrics.keys.length);
  const coverage = families.has("Coverage") ? new Map(ks.map((k) => [k, new CoverageCounter(ni)])) : null;
  const perUser = options.perUser ? { users: [] as number[], targets: [] as number[], values: {} as Record<string, number[]> } : null;
  if (perUser) for (const key of userMetrics.keys) perUser.values[key] = [];
  const ties = options.ties ?? "index";
  if (ties !== "index" && ties !== "random") throw new Error(`evaluate: unknown tie rule '${String(ties)}' (index or random)`);
  const priority = ties === "random" ? randomTieOrder(ni, options.tieSeed ?? 42) : undefined;
  let withTargets = 0;
  /** Adds user u's ranking (best first) to the metric sums. */
  const accumulate = (u: number, ranked: Int32Array, tItems: Int32Array): void => {
    withTargets++;
    perUser?.users.push(u);
    perUser?.targets.push(tItems.length);
    const values = userMetrics.compute(ranked, tItems);
    for (let j = 0; j < values.length; j++) sums[j] += values[j];
    if (perUser) userMetrics.keys.forEach((key, j) => perUser.values[key].push(100 * values[j]));
    if (coverage) {
      // Masked items rank last (−∞); they are not recommendations.
      const offered = ranked.subarray(0, Math.max(0, ni - mask.rowItems(u).length));
      for (const k of ks) coverage.get(k)!.add(offered, k);
    }
  };
  const nanError = (u: number, i: number) => new Error(`evaluate: model '${model.name}' gave NaN for user ${u}, item ${i}`);

  const onDevice = options.rankOnDevice !== false && isRanker(model) && model.ranksOnDevice() && mask === context;
  let rankedOnDevice = false;
  if (onDevice) {
    rankedOnDevice = await rankOnDevice(model, {
      context, targets, negatives, ks, kmax, priority, accumulate, nanError, aucScores, pairFrom, pairTo, onProgress: options.onProgress,
    });
  }
  if (!rankedOnDevice) {
    const block = Math.max(1, Math.min(options.blockSize ?? defaultBlockSize(ni), nu));
    const scores = scorePool.take(block * ni);
    const top = new Int32Array(kmax);
    const kk = Math.min(kmax, ni);
    const topAll = new Int32Array(block * kk);
    const topKBackend = await topKBackendFor(options.topK ?? "auto", nu * ni);
    try {
      for (let start = 0; start < nu; start += block) {
        const end = Math.min(nu, start + block);
        const out = scores.subarray(0, (end - start) * ni);
        await model.scoreBlock(context, start, end, out);
        for (let u = start; u < end; u++) {
          const row = out.subarray((u - start) * ni, (u - start + 1) * ni);
          const tItems = targets.rowItems(u);
          if (tItems.length > 0 && negatives) {
            let at = pairFrom[u];
            for (const i of tItems) aucScores[at++] = row[i];
            for (const i of negatives[u]) aucScores[at++] = row[i];
          }
          // One sum catches NaN (and ±∞ mixes); the exact item is looked up only then.
          let sum = 0;
          for (let i = 0; i < ni; i++) sum += row[i];
          if (Number.isNaN(sum)) {
            const i = row.findIndex((v) => Number.isNaN(v));
            if (i >= 0) throw nanError(u, i);
          }
          for (const i of mask.rowItems(u)) row[i] = -Infinity;
          if (tItems.length === 0 || topKBackend) continue;
          accumulate(u, topK(row, kmax, top, priority), tItems);
        }
        if (topKBackend) {
          await topKRows(topKBackend, out, end - start, ni, kk, priority ? priority.order : null, topAll);
          for (let u = start; u < end; u++) {
            const tItems = targets.rowItems(u);
            if (tItems.length > 0) accumulate(u, topAll.subarray((u - start) * kk, (u - start + 1) * kk), tItems);
          }
        }
        options.onProgress?.(end, nu);
      }
    } finally {
      scorePool.give(scores);
    }
  }
  const metrics: Metrics = {};
  if (negatives) metrics["AUC"] = auc(aucScores, aucLabels);
  for (const k of ks) {
    for (const f of METRIC_FAMILIES) {
      const j = userMetrics.keys.indexOf(`${f}@${k}`);
      if (j >= 0) metrics[`${f}@${k}`] = (100 * sums[j]) / nu;
      else if (f === "Coverage" && coverage) metrics[`Coverage@${k}`] = 100 * coverage.get(k)!.value();
    }
  }
  const result: EvaluationResult = { split, users: nu, usersWithTargets: withTargets, metrics };
  if (perUser) {
    const values: Record<string, Float64Array> = {};
    if (negatives) {
      values["AUC"] = Float64Array.from(perUser.users, (u) => auc(aucScores.subarray(pairFrom[u], pairTo[u]), aucLabels.subarray(pairFrom[u], pairTo[u])));
    }
    for (const [key, v] of Object.entries(perUser.values)) values[key] = Float64Array.from(v);
    result.perUser = { users: Int32Array.from(perUser.users), targets: Int32Array.from(perUser.targets), values };
  }
  return result;
}

/** The families asked for, checked (default: the paper's). */
function metricFamilies(asked: readonly MetricFamily[] | undefined): Set<MetricFamily> {
  const list = asked ?? PAPER_METRICS;
  for (const f of list) {
    if (!(METRIC_FAMILIES as readonly string[]).includes(f)) throw new Error(`evaluate: unknown metric '${String(f)}' (known: ${METRIC_FAMILIES.join(", ")})`);
  }
  return new Set(list);
}

/** The CPU backend for ORT top-k, or null for TypeScript's (asked for, or ONNX Runtime cannot load here). */
/** Scores per evaluation from which topK "auto" ranks with ORT (ML-1M's 22M do; Magazine's 4M do not). */
export const ORT_TOPK_MIN_VALUES = 1 << 24;

async function topKBackendFor(rule: "auto" | "ort" | "typescript", values: number): Promise<Backend | null> {
  if (rule !== "auto" && rule !== "ort" && rule !== "typescript") throw new Error(`evaluate: topK must be 'auto', 'ort' or 'typescript', got '${String(rule)}'`);
  if (rule === "typescript" || (rule === "auto" && values < ORT_TOPK_MIN_VALUES)) return null;
  try {
    return await getBackend({ device: "cpu" });
  } catch {
    return null;
  }
}

/** Rows per device ranking block: about 2^26 score values (256 MB of float32). */
const DEVICE_BLOCK_VALUES = 1 << 26;

interface DeviceRanking {
  context: InteractionMatrix;
  targets: InteractionMatrix;
  negatives: Int32Array[] | null;
  ks: number[];
  kmax: number;
  priority: TieOrder | undefined;
  accumulate: (user: number, ranked: Int32Array, targets: Int32Array) => void;
  nanError: (user: number, item: number) => Error;
  /** Every user's AUC pair scores, written here at [pairFrom[u], pairTo[u]). */
  aucScores: Float64Array;
  pairFrom: Int32Array;
  pairTo: Int32Array;
  onProgress?: (done: number, total: number) => void;
}

/**
 * The evaluation loop with ranking on the model's device: the same users,
 * pairs and metric sums as the host loop, from k indices per user. Returns
 * false (nothing accumulated) when the model declines the first block.
 */
async function rankOnDevice(model: Ranker, r: DeviceRanking): Promise<boolean> {
  const nu = r.context.numUsers;
  const ni = r.context.numItems;
  const kk = Math.min(r.kmax, ni);
  const rows = Math.max(1, Math.min(nu, Math.floor(DEVICE_BLOCK_VALUES / ni)));
  const tieOrder = r.priority ? r.priority.order : null;
  for (let start = 0; start < nu; start += rows) {
    const end = Math.min(nu, start + rows);
    // The block's pairs are contiguous in aucScores: [pairFrom[start], pairTo[end − 1]).
    const first = r.pairFrom[start];
    const pairs = new Int32Array(r.negatives ? r.pairTo[end - 1] - first : 0);
    if (r.negatives) {
      for (let u = start; u < end; u++) {
        const tItems = r.targets.rowItems(u);
        if (tItems.length === 0) continue;
        const base = (u - start) * ni;
        let at = r.pairFrom[u] - first;
        for (const i of tItems) pairs[at++] = base + i;
        for (const i of r.negatives[u]) pairs[at++] = base + i;
      }
    }
    const block = await model.rankBlock({ context: r.context, start, end, k: kk, tieOrder, pairs });
    if (block === null) {
      if (start === 0) return false;
      throw new Error(`evaluate: model '${model.name}' ranked users before ${start} on its device but declined the next block`);
    }
    for (let u = start; u < end; u++) {
      const at = block.firstNaN[u - start];
      if (at >= 0) throw r.nanError(u, at);
    }
    if (block.pairScores.length !== pairs.length) throw new Error(`evaluate: model '${model.name}' returned ${block.pairScores.length} pair scores for ${pairs.length} pairs`);
    r.aucScores.set(block.pairScores, first);
    for (let u = start; u < end; u++) {
      const tItems = r.targets.rowItems(u);
      if (tItems.length > 0) r.accumulate(u, block.top.subarray((u - start) * kk, (u - start + 1) * kk), tItems);
    }
    r.onProgress?.(end, nu);
  }
  return true;
}
