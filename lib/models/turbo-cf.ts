/**
 * Turbo-CF (Park, Shin, Lee, Shin, "Turbo-CF: Matrix Decomposition-Free Graph
 * Filtering for Fast Recommendation", SIGIR 2024): polynomial low-pass graph
 * filters of a normalised item Gram, with no decomposition at all.
 *   R̃ = D_U^{-α} R D_I^{-(1−α)},   P̄ = (R̃ᵀR̃)^{∘s}   (element-wise power s)
 *   scores(r_u) = r_u · f(P̄), one of the paper's three filters:
 *     1  f(P) = P                                   (linear)
 *     2  f(P) = 2P − P²                             (second order)
 *     3  f(P) = P + 0.01·(−P³ + 10P² − 29P)         (third order)
 * α (normalisation exponent), s and the filter are chosen on validation.
 * Items without training interactions get D_I^{-(1−α)} = 0.
 *
 * The Gram is formed as in GF-CF (gf-cf.ts), P̄² and P̄³ and the scores
 * through backend.matmul; a grid search shares P̄ and its powers across the
 * filters of one (α, s).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { type Backend, type DeviceRequest, getBackend } from "../onnx/backend.ts";
import { degreeScaledGram } from "./gf-cf.ts";
import type { FitOptions, HyperParameters, ItemItemLinear, Recommender } from "./model.ts";
import { type FitScratch, ScratchSlot } from "./scratch.ts";
import { timed, type Timings } from "./timings.ts";

/** The paper's three polynomial filters. */
export const TURBO_CF_FILTERS = [1, 2, 3] as const;
export type TurboCFFilter = (typeof TURBO_CF_FILTERS)[number];

/** Coefficients [c1, c2, c3] of f(P) = c1·P + c2·P² + c3·P³ for each filter. */
export function filterCoefficients(filter: TurboCFFilter): readonly [number, number, number] {
  switch (filter) {
    case 1:
      return [1, 0, 0];
    case 2:
      return [2, -1, 0];
    case 3:
      // P + 0.01(−P³ + 10P² − 29P) = 0.71P + 0.1P² − 0.01P³.
      return [1 - 0.29, 0.1, -0.01];
  }
}

export interface TurboCFOptions {
  /** Normalisation exponent α: R̃ = D_U^{-α} R D_I^{-(1−α)}. */
  alpha: number;
  /** Element-wise power s of the normalised Gram. */
  power: number;
  filter: TurboCFFilter;
  device?: DeviceRequest;
  backend?: Backend;
  /** Scratch shared by one grid search: P̄, P̄², P̄³ of one (α, s) for every filter. */
  scratch?: FitScratch;
  timings?: Timings;
}

interface PowersState {
  train: InteractionMatrix;
  alpha: number;
  power: number;
  /** P̄, P̄², P̄³ as computed so far. */
  powers: Float32Array[];
}

/** The last (α, s)'s powers of P̄: the grid is (α, s)-major, so one entry at a time is kept. */
const POWERS_SLOT = new ScratchSlot<PowersState>("turbo-cf:powers");

export class TurboCF implements Recommender, ItemItemLinear {
  /** Scores are context · filter: saved as the filter (lib/models/artifact.ts). */
  readonly scoresAreContextTimesItemMatrix = true as const;
  readonly name = "turbo-cf";
  private backend?: Backend;
  private filter?: Float32Array;
  private numItems = 0;

  constructor(private readonly options: TurboCFOptions) {
    if (!(Number.isFinite(options.alpha) && options.alpha >= 0 && options.alpha <= 1)) throw new Error(`turbo-cf: α must be in [0, 1], got ${options.alpha}`);
    if (!(Number.isFinite(options.power) && options.power > 0)) throw new Error(`turbo-cf: the power s must be finite and > 0, got ${options.power}`);
    if (!TURBO_CF_FILTERS.includes(options.filter)) throw new Error(`turbo-cf: filter must be 1, 2 or 3, got ${String(options.filter)}`);
    this.backend = options.backend;
  }

  private async getBackend(): Promise<Backend> {
    this.backend ??= await getBackend({ device: this.options.device ?? "cpu" });
    return this.backend;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    if (train.nnz === 0) throw new Error("turbo-cf: the training matrix has no interactions");
    const backend = await this.getBackend();
    const { alpha, power, filter } = this.options;
    const timings = this.options.timings;
    const n = train.numItems;
    this.filter = undefined;
    let state = this.options.scratch?.get(POWERS_SLOT, "");
    if (!state || state.train !== train || state.alpha !== alpha || state.power !== power) {
      const p = await timed(timings, "gram", () => degreeScaledGram(train, alpha, 1 - alpha, backend));
      if (power !== 1) for (let i = 0; i < p.length; i++) p[i] = p[i] ** power; // entries are ≥ 0
      state = { train, alpha, power, powers: [p] };
      this.options.scratch?.set(POWERS_SLOT, "", state);
    }
    options.onProgress?.(0.3, "gram");
    const coefficients = filterCoefficients(filter);
    const order = coefficients[2] !== 0 ? 3 : coefficients[1] !== 0 ? 2 : 1;
    const powers = state.powers;
    while (powers.length < order) {
      const next = await timed(timings, "powers", () => backend.matmul(powers[powers.length - 1], [n, n], powers[0], [n, n]));
      powers.push(next);
      options.onProgress?.(0.3 + (0.6 * powers.length) / order, "powers");
    }
    const f = new Float32Array(n * n);
    for (let d = 0; d < order; d++) {
      const c = coefficients[d];
      const pd = powers[d];
      for (let i = 0; i < f.length; i++) f[i] += c * pd[i];
    }
    this.filter = f;
    this.numItems = n;
    options.onProgress?.(1, "filter");
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const f = this.filter;
    if (!f) throw new Error("turbo-cf.scoreBlock: call fit first");
    const n = this.numItems;
    if (context.numItems !== n) throw new Error(`turbo-cf.scoreBlock: context has ${context.numItems} items, model ${n}`);
    const rows = end - start;
    const backend = await this.getBackend();
    await timed(this.options.timings, "score", () => backend.matmul(context.denseRows(start, end), [rows, n], f, [n, n], { out: out.subarray(0, rows * n) }));
  }

  hyperParameters(): HyperParameters {
    return { alpha: this.options.alpha, power: this.options.power, filter: this.options.filter };
  }

  dispose(): void {
    this.filter = undefined;
  }
}
