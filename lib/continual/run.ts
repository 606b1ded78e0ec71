/**
 * The paper's Figure 5 experiment: Mult-VAE trained period by period, each
 * period warm-started from the previous period's model of the same method,
 * and evaluated on the next period (protocol.ts). What each method trains on
 * at period t:
 *
 * - joint: every user's rows of periods 0..t (all data so far);
 * - individual: the users' rows of period t only;
 * - ader: period t's rows plus the exemplars chosen after period t − 1,
 *   replayed with adaptive distillation (ader.ts);
 * - distill-cf: period t's rows plus the DISTILL-CF summary distilled after
 *   period t − 1 (distill-memory.ts), its rows trained on as users.
 *
 * ADER and DISTILL-CF keep the same replay budget: `budget` rows. At period 0
 * there is nothing to replay and all four train on the same rows from the same
 * initialisation with the same seed, so their first points coincide.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import type { RawInteractions } from "../data/text.ts";
import type { RunDistillHooks, RunDistillOptions } from "../distill/run.ts";
import { aderLambda, chooseExemplars, distillationTargets } from "./ader.ts";
import { binarizeTopK, distillMemory } from "./distill-memory.ts";
import { activeUsers, evaluateNextPeriod, nextPeriodTask, type NextPeriodMetrics, periodData, seenItems, stackRows } from "./protocol.ts";
import { ContinualVae, selfTargets, type TrainingRows, type VaeTrainConfig } from "./vae-learner.ts";

export const CONTINUAL_METHODS = ["joint", "individual", "ader", "distill-cf"] as const;
export type ContinualMethod = (typeof CONTINUAL_METHODS)[number];

export const METHOD_LABELS: Record<ContinualMethod, string> = {
  joint: "Joint",
  individual: "Individual",
  ader: "ADER",
  "distill-cf": "DISTILL-CF",
};

export interface ContinualOptions {
  periods: number;
  methods: readonly ContinualMethod[];
  /** Replay rows of ADER and DISTILL-CF. */
  budget: number;
  vae: VaeTrainConfig;
  /** ADER's λ_base. */
  aderLambdaBase: number;
  /** DISTILL-CF settings (μ is the budget). */
  distill: Partial<Omit<RunDistillOptions, "mu" | "seed">>;
  seed: number;
}

/** One point of the figure: a method's model after period `period`, tested on period + 1. */
export interface ContinualPoint {
  method: ContinualMethod;
  /** The period trained on (0-based); tested on period + 1. */
  period: number;
  metrics: NextPeriodMetrics;
  /** Rows the model trained on this period (real and replayed). */
  trainRows: number;
  /** Replayed rows among them (exemplars or synthetic rows). */
  replayRows: number;
  /** ADER's λ_t this period (0 elsewhere). */
  aderLambda: number;
  trainSeconds: number;
  /** Seconds building the memory after this period (herding or distilling). */
  memorySeconds: number;
}

export interface PeriodFacts {
  index: number;
  interactions: number;
  users: number;
  firstTimestamp: number;
  lastTimestamp: number;
  /** The evaluation on this period (absent for period 0). */
  evaluatedUsers?: number;
  targets?: number;
  newUsers?: number;
  unseenItemTargets?: number;
  repeatTargets?: number;
}

export interface ContinualHooks {
  log?: (line: string) => void;
  onPoint?: (point: ContinualPoint) => void | Promise<void>;
  distill?: RunDistillHooks;
}

/** Per-period seeds shared by the methods (so that period 0 coincides). */
function periodSeed(seed: number, period: number): number {
  return (seed + 7919 * (period + 1)) >>> 0;
}

/** Facts of each period and of its evaluation. */
export function periodFacts(raw: RawInteractions, periods: number): PeriodFacts[] {
  const data = periodData(raw, periods);
  return data.periods.map((p, t) => {
    const facts: PeriodFacts = {
      index: t,
      interactions: p.rows.length,
      users: activeUsers(data.matrices[t]).length,
      firstTimestamp: p.firstTimestamp,
      lastTimestamp: p.lastTimestamp,
    };
    if (t > 0) {
      const task = nextPeriodTask(data, t - 1);
      Object.assign(facts, { evaluatedUsers: task.users.length, targets: task.targets.reduce((a, s) => a + s.size, 0), newUsers: task.newUsers, unseenItemTargets: task.unseenItemTargets, repeatTargets: task.repeatTargets });
    }
    return facts;
  });
}

/** Runs every method over the periods; points arrive through onPoint in order (method-major within a period). */
export async function runContinual(raw: RawInteractions, options: ContinualOptions, hooks: ContinualHooks = {}): Promise<ContinualPoint[]> {
  const log = hooks.log ?? (() => {});
  if (!(Number.isInteger(options.budget) && options.budget >= 1)) throw new Error(`budget must be an integer ≥ 1, got ${options.budget}`);
  if (!(Number.isInteger(options.periods) && options.periods >= 2)) throw new Error(`periods must be an integer ≥ 2, got ${options.periods}`);
  const data = periodData(raw, options.periods);
  const numItems = raw.itemIds.length;
  const points: ContinualPoint[] = [];
  const models = new Map<ContinualMethod, ContinualVae>();
  // Memories built after the previous period: ADER's exemplars, DISTILL-CF's summary.
  let exemplars: InteractionMatrix | null = null;
  let summary: InteractionMatrix | null = null;
  for (let t = 0; t + 1 < options.periods; t++) {
    const seed = periodSeed(options.seed, t);
    const current = data.matrices[t];
    const currentRows = current.selectUsers(activeUsers(current));
    const task = nextPeriodTask(data, t);
    const oldItems = t > 0 ? seenItems(data.histories[t - 1]) : null;
    let nextExemplars: InteractionMatrix | null = exemplars;
    let nextSummary: InteractionMatrix | null = summary;
    for (const method of options.methods) {
      const previous = models.get(method);
      const model = previous ? previous.clone() : ContinualVae.fresh(numItems, options.vae, options.seed);
      let rows: TrainingRows;
      let replayRows = 0;
      let lambda = 0;
      if (method === "joint") {
        const h = data.histories[t];
        rows = selfTargets(h.selectUsers(activeUsers(h)));
      } else if (method === "ader" && exemplars && previous && oldItems) {
        const newItems = seenItems(data.histories[t]).reduce((a, b) => a + b, 0);
        lambda = aderLambda(options.aderLambdaBase, oldItems.reduce((a, b) => a + b, 0), newItems, exemplars.numUsers, currentRows.numUsers);
        rows = { inputs: stackRows([currentRows, exemplars]), targets: stackRows([currentRows, distillationTargets(previous, exemplars, oldItems, lambda)]) };
        replayRows = exemplars.numUsers;
      } else if (method === "distill-cf" && summary) {
        rows = selfTargets(stackRows([currentRows, summary]));
        replayRows = summary.numUsers;
      } else {
        rows = selfTargets(currentRows);
      }
      const t0 = performance.now();
      model.train(rows, seed);
      const trainSeconds = (performance.now() - t0) / 1000;
      models.set(method, model);
      const t1 = performance.now();
      if (method === "ader") {
        const pool = exemplars ? stackRows([currentRows, exemplars]) : currentRows;
        nextExemplars = chooseExemplars(model, pool, options.budget);
      } else if (method === "distill-cf" && t + 2 < options.periods) {
        // The last model's summary would never be replayed.
        const realRows = currentRows.total / currentRows.numUsers;
        const pool = summary ? stackRows([currentRows, binarizeTopK(summary, Math.max(1, Math.round(realRows)))]) : currentRows;
        log(`  distill-cf: distilling ${pool.numUsers} rows into ${Math.min(options.budget, pool.numUsers)} …`);
        const memory = await distillMemory(`period-${t}`, pool, raw.itemIds, options.budget, { ...options.distill, seed }, hooks.distill);
        nextSummary = memory.rows;
        log(`  distill-cf: best validation HR@100 ${memory.bestScore?.toFixed(2) ?? "–"} at step ${memory.bestStep}, λ = ${memory.lambda}`);
      }
      const memorySeconds = (performance.now() - t1) / 1000;
      const metrics = evaluateNextPeriod(task, (context, users, out) => model.logits(context, users, out));
      const point: ContinualPoint = { method, period: t, metrics, trainRows: rows.inputs.numUsers, replayRows, aderLambda: lambda, trainSeconds, memorySeconds };
      points.push(point);
      log(`period ${t + 1}/${options.periods - 1} ${METHOD_LABELS[method]}: HR@10 ${metrics["HR@10"].toFixed(2)} NDCG@10 ${metrics["NDCG@10"].toFixed(2)} (${metrics.users} users; ${point.trainRows} rows, ${replayRows} replayed; ${trainSeconds.toFixed(1)} s + ${memorySeconds.toFixed(1)} s)`);
      await hooks.onPoint?.(point);
    }
    exemplars = nextExemplars;
    summary = nextSummary;
  }
  return points;
}
