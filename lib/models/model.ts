import type { InteractionMatrix } from "../data/matrix.ts";

/** A hyper-parameter value as reported in results and artifacts. */
export type HyperValue = number | string | boolean;
export type HyperParameters = Record<string, HyperValue>;

/** Progress callback for long fits: a fraction in [0, 1] and a short message. */
export type ProgressFn = (fraction: number, message: string) => void;

export interface FitOptions {
  /** Seed for any randomness in the fit (support sampling, initialisation). */
  seed?: number;
  onProgress?: ProgressFn;
}

/**
 * The one interface every recommender implements.
 *
 * `fit` learns from a training matrix (users × items; values may be weights in
 * [0, 1] for distilled summaries). `scoreBlock` scores users [start, end) of a
 * context matrix with the same item space — the context rows are those users'
 * known interactions (train rows in validation, train + validation rows in
 * test) — writing a row-major (end-start) × numItems block into `out`.
 * Masking of already-seen items is the evaluator's job, not the model's.
 */
/**
 * A recommender whose scores are the context rows times one fixed items × items
 * matrix (EASE and its relatives, GF-CF, Turbo-CF): it is saved as that matrix.
 */
export interface ItemItemLinear {
  readonly scoresAreContextTimesItemMatrix: true;
}

export function isItemItemLinear(model: object): model is ItemItemLinear {
  return (model as Partial<ItemItemLinear>).scoresAreContextTimesItemMatrix === true;
}

export interface Recommender {
  readonly name: string;
  fit(train: InteractionMatrix, options?: FitOptions): Promise<void>;
  scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void>;
  hyperParameters(): HyperParameters;
  /** Releases native resources (ONNX sessions, large buffers). Optional. */
  dispose?(): Promise<void> | void;
}
