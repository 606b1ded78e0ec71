/**
 * Model names the CLI and scripts accept, each with its constructor and the
 * hyper-parameter grid searched on validation.
 */
import type { DeviceRequest } from "../onnx/backend.ts";
import { EASE } from "./ease.ts";
import { InfiniteAE } from "./infinite-ae.ts";
import type { HyperValue, Recommender } from "./model.ts";
import { PopRec } from "./pop.ts";

export type ModelParams = Record<string, HyperValue>;

export interface BuildContext {
  /** Scratch shared by the candidates of one grid search. */
  shared?: Map<string, unknown>;
  device?: DeviceRequest;
}

export interface ModelEntry {
  /** One-line description for --help. */
  description: string;
  /** Candidates searched on validation; one entry when the model has no hyper-parameters. */
  grid: ModelParams[];
  build(params: ModelParams, context?: BuildContext): Recommender;
}

/** ∞-AE's λ grid (PROTOCOL.md §2). */
export const INFINITE_AE_LAMBDAS = [0, 1, 5, 20, 50, 100];
/** EASE's λ grid. */
export const EASE_LAMBDAS = [1, 10, 50, 100, 200, 500, 1000, 3000];

export const MODELS: Record<string, ModelEntry> = {
  pop: {
    description: "PopRec: items ranked by training popularity",
    grid: [{}],
    build: () => new PopRec(),
  },
  "inf-ae": {
    description: "∞-AE: kernel ridge regression with the NTK of an infinitely wide autoencoder",
    grid: INFINITE_AE_LAMBDAS.map((lambda) => ({ lambda, depth: 1 })),
    build: (p, c = {}) =>
      new InfiniteAE({ lambda: Number(p.lambda), depth: Number(p.depth ?? 1), shared: c.shared, device: c.device }),
  },
  ease: {
    description: "EASE: item-item closed-form linear autoencoder",
    grid: EASE_LAMBDAS.map((lambda) => ({ lambda })),
    build: (p, c = {}) => new EASE({ lambda: Number(p.lambda), shared: c.shared, device: c.device }),
  },
};

export function modelEntry(name: string): ModelEntry {
  const m = MODELS[name];
  if (!m) throw new Error(`unknown model '${name}' (known: ${Object.keys(MODELS).join(", ")})`);
  return m;
}
