/**
 * What evaluation needs of a model, declared here so that lib/eval knows no
 * model: every Recommender of lib/models has this shape.
 */
import type { InteractionMatrix } from "../data/matrix.ts";

/** Scores users [start, end) of a context matrix into a row-major (end − start) × items block. */
export interface Scorer {
  readonly name: string;
  scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void>;
}

/** A grid-search candidate: a scorer that can be fitted, reports its hyper-parameters and frees its buffers. */
export interface Candidate extends Scorer {
  fit(train: InteractionMatrix, options?: { seed?: number; onProgress?: (fraction: number, message: string) => void }): Promise<void>;
  hyperParameters(): Record<string, number | string | boolean>;
  dispose?(): Promise<void> | void;
}

/** A block of users to rank on the scorer's own device (see Ranker). */
export interface RankRequest {
  context: InteractionMatrix;
  start: number;
  end: number;
  /** Items per user to return, best first (≤ the number of items). */
  k: number;
  /** Items in tie order (equal scores rank by position here); null: lower item index first. */
  tieOrder: Int32Array | null;
  /** (user − start)·items + item of each (user, item) pair whose raw score is wanted (AUC). */
  pairs: Int32Array;
}

export interface RankedBlock {
  /** (end − start) × k item indices, best first, the context's items masked to −∞. */
  top: Int32Array;
  /** Raw scores (before masking) of the requested pairs, in order. */
  pairScores: Float32Array;
  /** Per user, the first item whose score is NaN, or −1. */
  firstNaN: Int32Array;
}

/**
 * A scorer that can rank on its device: only k indices per user and the AUC
 * pairs' scores cross to the host. Masks the context's own items (so it is
 * used only when the split's mask is its context). Returns null when it cannot
 * rank this block (the host path then does).
 */
export interface Ranker extends Scorer {
  rankBlock(request: RankRequest): Promise<RankedBlock | null>;
}

export function isRanker(s: Scorer): s is Ranker {
  return typeof (s as Partial<Ranker>).rankBlock === "function";
}
