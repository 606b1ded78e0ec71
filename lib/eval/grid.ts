/**
 * Hyper-parameter selection on the validation split by a named metric
 * (default HR@100, as the paper does), then an optional test evaluation of
 * the winner.
 */
import type { Dataset } from "../data/dataset.ts";
import type { InteractionMatrix } from "../data/matrix.ts";
import { evaluate, type EvaluateOptions, type EvaluationResult } from "./evaluate.ts";
import type { Candidate } from "./scorer.ts";

export interface GridPoint<P> {
  params: P;
  validation: EvaluationResult;
}

/** A candidate that could not be fitted (e.g. λ = 0 on a singular kernel). */
export interface SkippedPoint<P> {
  params: P;
  reason: string;
}

export interface GridSearchResult<P> {
  best: GridPoint<P>;
  metric: string;
  points: GridPoint<P>[];
  skipped: SkippedPoint<P>[];
  /** The fitted best model, with `keepBest`. */
  model?: Candidate;
  /** Test evaluation of the best model, when asked for. */
  test?: EvaluationResult;
  hyperParameters: Record<string, number | string | boolean>;
}

export interface GridSearchOptions extends Omit<EvaluateOptions, "split"> {
  /** Validation metric to maximise (default "HR@100"). */
  metric?: string;
  /** Also evaluate the best model on the test split. */
  test?: boolean;
  seed?: number;
  /**
   * Matrix the models are fitted on (default: the dataset's train split), e.g.
   * a DISTILL-CF summary or a sample of users; real users are always scored.
   */
  train?: InteractionMatrix;
  /** Keep the fitted best model (returned as `model`) instead of disposing it. */
  keepBest?: boolean;
  onPoint?: (point: GridPoint<unknown>, index: number, total: number) => void;
  /** Progress of each candidate's fit (e.g. epochs of gradient-trained models). */
  onFitProgress?: (fraction: number, message: string) => void;
  /** Told about each skipped candidate (default: a warning on stderr). */
  onSkip?: (skipped: SkippedPoint<unknown>) => void;
}

/** Errors that mean "this candidate cannot be fitted", not "the search is broken". */
function isSkippable(e: unknown): e is Error {
  return e instanceof Error && e.name === "SingularKernelError";
}

/**
 * Fits `build(params)` on the training split for each candidate and keeps the
 * one with the highest validation `metric`; ties go to the earlier candidate.
 */
export async function gridSearch<P>(
  ds: Dataset,
  candidates: readonly P[],
  build: (params: P) => Candidate,
  options: GridSearchOptions = {},
): Promise<GridSearchResult<P>> {
  if (candidates.length === 0) throw new Error("gridSearch: no candidates");
  const metric = options.metric ?? "HR@100";
  const points: GridPoint<P>[] = [];
  const skipped: SkippedPoint<P>[] = [];
  let best: { point: GridPoint<P>; model: Candidate } | null = null;
  for (let c = 0; c < candidates.length; c++) {
    const model = build(candidates[c]);
    try {
      await model.fit(options.train ?? ds.train, { seed: options.seed, onProgress: options.onFitProgress });
    } catch (e) {
      if (!isSkippable(e)) throw e;
      await model.dispose?.();
      const s = { params: candidates[c], reason: e.message };
      skipped.push(s);
      if (options.onSkip) options.onSkip(s);
      else console.warn(`warning: skipped ${JSON.stringify(candidates[c])}: ${e.message}`);
      continue;
    }
    const validation = await evaluate(model, ds, { ...options, split: "validation" });
    if (!(metric in validation.metrics)) {
      throw new Error(`gridSearch: unknown metric '${metric}' (have ${Object.keys(validation.metrics).join(", ")})`);
    }
    const point = { params: candidates[c], validation };
    points.push(point);
    options.onPoint?.(point, c, candidates.length);
    if (!best || validation.metrics[metric] > best.point.validation.metrics[metric]) {
      await best?.model.dispose?.();
      best = { point, model };
    } else {
      await model.dispose?.();
    }
  }
  if (!best) throw new Error(`gridSearch: every candidate was skipped (${skipped.map((s) => s.reason).join("; ")})`);
  const winner = best;
  const result: GridSearchResult<P> = {
    best: winner.point,
    metric,
    points,
    skipped,
    hyperParameters: winner.model.hyperParameters(),
  };
  if (options.test) result.test = await evaluate(winner.model, ds, { ...options, split: "test" });
  if (options.keepBest) result.model = winner.model;
  else await winner.model.dispose?.();
  return result;
}
