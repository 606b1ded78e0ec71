/**
 * Model names the CLI and scripts accept, each with its constructor and the
 * hyper-parameter grid searched on validation HR@100.
 */
import type { Dataset } from "../data/dataset.ts";
import { evaluate } from "../eval/evaluate.ts";
import type { DeviceRequest } from "../onnx/backend.ts";
import { EASE } from "./ease.ts";
import { type AnyBaselineConfig, BASELINE_NAMES, type BaselineName, baselineGrid, buildBaseline, earlyStoppingPlan } from "./grids.ts";
import { InfiniteAE } from "./infinite-ae/model.ts";
import type { HyperValue, Recommender } from "./model.ts";
import { PopRec } from "./pop.ts";

export type ModelParams = Record<string, HyperValue>;

export interface BuildContext {
  /** Scratch shared by the candidates of one grid search. */
  shared?: Map<string, unknown>;
  device?: DeviceRequest;
  /** The dataset being searched: gradient-trained models stop early on its validation split. */
  dataset?: Dataset;
  /** Where training progress lines go (default: nowhere). */
  log?: (line: string) => void;
}

export interface ModelEntry {
  /** One-line description for --help. */
  description: string;
  /** The paper-protocol grid for a dataset; `quick` gives a small smoke-run grid. */
  gridFor(ds: Dataset, quick?: boolean): ModelParams[];
  build(params: ModelParams, context?: BuildContext): Recommender;
}

/** ∞-AE's λ grid (PROTOCOL.md §2). */
export const INFINITE_AE_LAMBDAS = [0, 1, 5, 20, 50, 100];
/** EASE's λ grid. */
export const EASE_LAMBDAS = [1, 10, 50, 100, 200, 500, 1000, 3000];
/** ∞-AE's λ grid on DISTILL-CF summaries (PROTOCOL.md §4: the distillation re-picks from it). */
export const SUMMARY_INFINITE_AE_LAMBDAS: readonly number[] = Object.freeze([1e-5, 1e-3, 0.1, 1, 5, 50]);
/** EASE's λ grid on summaries: their rows are few and fractional, so much smaller λ fit. */
export const SUMMARY_EASE_LAMBDAS: readonly number[] = Object.freeze([1e-3, 1e-2, 0.1, 1, 10, 100, 1000]);

/** Grids for models fitted on a DISTILL-CF summary instead of real users. */
export function summaryGrid(model: string): ModelParams[] | undefined {
  if (model === "inf-ae") return SUMMARY_INFINITE_AE_LAMBDAS.map((lambda) => ({ lambda, depth: 1 }));
  if (model === "ease") return SUMMARY_EASE_LAMBDAS.map((lambda) => ({ lambda }));
  return undefined;
}

/** Datasets above this many matrix cells count as "large" for the baselines' grids. */
const LARGE_CELLS = 5e6;
const sizeOf = (ds: Dataset) => (ds.train.numUsers * ds.train.numItems > LARGE_CELLS ? "large" : "small");

function baselineEntry(name: BaselineName, description: string): ModelEntry {
  return {
    description,
    gridFor: (ds, quick = false) => baselineGrid(name, { size: sizeOf(ds), quick }) as unknown as ModelParams[],
    build: (params, c = {}) => {
      const m = buildBaseline(name, params as unknown as AnyBaselineConfig as never);
      const ds = c.dataset;
      if (ds) {
        const plan = earlyStoppingPlan(sizeOf(ds));
        m.earlyStopping = {
          evaluate: async () => (await evaluate(m, ds, { split: "validation", aucNegatives: 0 })).metrics["HR@100"],
          every: plan.every,
          patience: plan.patience,
        };
      }
      if (c.log) {
        const fit = m.fit.bind(m);
        const log = c.log;
        m.fit = (train, options) => fit(train, { ...options, onProgress: (_f, message) => log(`  ${message}`) });
      }
      return m;
    },
  };
}

export const MODELS: Record<string, ModelEntry> = {
  pop: {
    description: "PopRec: items ranked by training popularity",
    gridFor: () => [{}],
    build: () => new PopRec(),
  },
  "inf-ae": {
    description: "∞-AE: kernel ridge regression with the NTK of an infinitely wide autoencoder",
    gridFor: (_ds, quick) => (quick ? [5, 20] : INFINITE_AE_LAMBDAS).map((lambda) => ({ lambda, depth: 1 })),
    build: (p, c = {}) =>
      new InfiniteAE({ lambda: Number(p.lambda), depth: Number(p.depth ?? 1), shared: c.shared, device: c.device }),
  },
  ease: {
    description: "EASE: item-item closed-form linear autoencoder",
    gridFor: (_ds, quick) => (quick ? [500, 1000] : EASE_LAMBDAS).map((lambda) => ({ lambda })),
    build: (p, c = {}) => new EASE({ lambda: Number(p.lambda), shared: c.shared, device: c.device }),
  },
  "bias-only": baselineEntry("bias-only", "Bias only: global, user and item biases"),
  mf: baselineEntry("mf", "MF: matrix factorisation with BPR loss"),
  neumf: baselineEntry("neumf", "NeuMF: GMF and MLP towers fused (He et al. 2017)"),
  lightgcn: baselineEntry("lightgcn", "LightGCN: propagation over the user-item graph (He et al. 2020)"),
  multvae: baselineEntry("multvae", "MultVAE: variational autoencoder, multinomial likelihood (Liang et al. 2018)"),
};
void BASELINE_NAMES;

export function modelEntry(name: string): ModelEntry {
  const m = MODELS[name];
  if (!m) throw new Error(`unknown model '${name}' (known: ${Object.keys(MODELS).join(", ")})`);
  return m;
}
