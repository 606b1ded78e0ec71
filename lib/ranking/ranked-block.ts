/**
 * The contract of ranking on a model's device (lib/eval's Ranker): what the
 * evaluator asks for and what comes back. Below both the models that rank and
 * the evaluation that reads the result.
 */
import type { InteractionMatrix } from "../data/matrix.ts";

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

