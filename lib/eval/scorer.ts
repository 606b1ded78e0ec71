/**
 * What evaluation needs of a model, declared here so that lib/eval knows no
 * model: every Recommender of lib/models has this shape.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import type { RankedBlock, RankRequest } from "../ranking/ranked-block.ts";

/** Scores users [start, end) of a context matrix into a row-major (end − start) × items block. */
export interface Scorer {
  readonly name: string;
  /**
   * Scores users [start, end) of `context` into out[0, (end − start)·items), writing
   * every entry: `out` is reused scratch, its earlier contents undefined.
   */
  scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void>;
}

/** A grid-search candidate: a scorer that can be fitted, reports its hyper-parameters and frees its buffers. */
export interface Candidate extends Scorer {
  fit(train: InteractionMatrix, options?: { seed?: number; onProgress?: (fraction: number, message: string) => void }): Promise<void>;
  hyperParameters(): Record<string, number | string | boolean>;
  dispose?(): Promise<void> | void;
}

/**
 * A scorer that can rank on its device: only k indices per user and the AUC
 * pairs' scores cross to the host. Masks the context's own items (so it is
 * used only when the split's mask is its context). Returns null when it cannot
 * rank this block (the host path then does).
 */
export interface Ranker extends Scorer {
  /** Whether rankBlock would rank now (checked before the evaluator builds a request). */
  ranksOnDevice(): boolean;
  rankBlock(request: RankRequest): Promise<RankedBlock | null>;
}

export function isRanker(s: Scorer): s is Ranker {
  return typeof (s as Partial<Ranker>).rankBlock === "function" && typeof (s as Partial<Ranker>).ranksOnDevice === "function";
}
