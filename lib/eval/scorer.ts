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
