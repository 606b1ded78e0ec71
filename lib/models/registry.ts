/**
 * The one way to make a model: names the CLI, scripts, DISTILL-CF and the
 * samplers accept, each with its constructor and the hyper-parameter grid
 * searched on validation HR@100 (on the dataset, or on a DISTILL-CF summary).
 */
import type { Dataset } from "../data/dataset.ts";
import { Blend, type BlendNormalisation } from "./blend.ts";
import type { Backend, DeviceRequest } from "../onnx/backend.ts";
import { EASE } from "./ease/model.ts";
import { GFCF } from "./gf-cf.ts";
import { type AnyBaselineConfig, type BaselineName, baselineGrid, buildBaseline, earlyStoppingPlan } from "./grids.ts";
import { InfiniteAE } from "./infinite-ae/model.ts";
import { checkAeKernel } from "../ntk/nngp.ts";
import type { HyperValue, Recommender } from "./model.ts";
import { PopRec } from "./pop.ts";
import { SVDAE } from "./svd-ae.ts";
import type { FitScratch } from "./scratch.ts";
import type { Timings } from "./timings.ts";
import { type TurboCFFilter, TurboCF } from "./turbo-cf.ts";

export type ModelParams = Record<string, HyperValue>;

export interface BuildContext {
  /** Scratch shared by the candidates of one grid search (one Gram for every λ). */
  scratch?: FitScratch;
  device?: DeviceRequest;
  /** A backend to run on (overrides `device`). */
  backend?: Backend;
  /** Seconds per fit phase are added here (benchmarks). */
  timings?: Timings;
  /** The whole grid being searched: closed forms that batch it (∞-AE's device engine) fit it at once. */
  grid?: readonly ModelParams[];
  /** ∞-AE's engine: "auto" (device-resident on GPU backends), "host" or "device". */
  engine?: "auto" | "host" | "device";
  /** ∞-AE on a small float64 support: precision of the scores K(users, S)·α (default float64; see InfiniteAEOptions). */
  scorePrecision?: "float64" | "float32";
  /**
   * Early stopping for gradient-trained models: the model's validation score
   * (higher is better), e.g. validation HR@100 from lib/eval. Without it they
   * train for their full epoch budget.
   */
  validate?: (model: Recommender) => Promise<number>;
  /** Size class of the dataset, for the early-stopping schedule (default "large"). */
  size?: DatasetSize;
  /** Overrides of that schedule: validate every this many epochs, stop after `patience` worse validations. */
  schedule?: { every?: number; patience?: number };
}

export interface GridRequest {
  /** A small smoke-run grid. */
  quick?: boolean;
  /** The models are fitted on a DISTILL-CF summary (few fractional rows), not on real users. */
  summary?: boolean;
}

export interface ModelEntry {
  /** One-line description for --help. */
  description: string;
  /** Whether the model runs ONNX graphs (so that --device means something to it). */
  usesOnnx: boolean;
  /** The validation grid for a dataset (docs/protocol.md §2, §4). */
  gridFor(ds: Dataset, request?: GridRequest): ModelParams[];
  build(params: ModelParams, context?: BuildContext): Recommender;
}

/** ∞-AE's λ grid (docs/protocol.md §2). */
export const INFINITE_AE_LAMBDAS: readonly number[] = Object.freeze([0, 1, 5, 20, 50, 100]);
/**
 * ∞-AE's finer grid (inf-ae-fine, inf-ae-nngp): λ below 1, where the held-out
 * datasets picked the paper grid's smallest non-zero value, the paper's values,
 * and 2 and 10 between them (ML-1M's validation HR@100 peaks between 1 and 20).
 */
export const INFINITE_AE_FINE_LAMBDAS: readonly number[] = Object.freeze([0, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100]);
/** Hidden layers searched by the finer ∞-AE grids. */
export const INFINITE_AE_DEPTHS: readonly number[] = Object.freeze([1, 2, 3]);
/** EASE's λ grid. */
export const EASE_LAMBDAS: readonly number[] = Object.freeze([1, 10, 50, 100, 200, 500, 1000, 3000]);
/** ∞-AE's λ grid on DISTILL-CF summaries (docs/protocol.md §4: the distillation re-picks from it). */
export const SUMMARY_INFINITE_AE_LAMBDAS: readonly number[] = Object.freeze([1e-5, 1e-3, 0.1, 1, 5, 50]);
/** EASE's λ grid on summaries: their rows are few and fractional, so much smaller λ fit. */
export const SUMMARY_EASE_LAMBDAS: readonly number[] = Object.freeze([1e-3, 1e-2, 0.1, 1, 10, 100, 1000]);

/** The EASE family's extra axes (model/ease/model.ts): emphasised dropout p and the diagonal bound ξ. */
export const LAE_DROPOUTS: readonly number[] = Object.freeze([0.1, 0.25, 0.33, 0.5]);
export const LAE_DIAGONAL_BOUNDS: readonly number[] = Object.freeze([0.05, 0.1, 0.2, 0.3]);

export type DatasetSize = "small" | "large";
/** Datasets above this many matrix cells count as "large" for the baselines' grids. */
const LARGE_CELLS = 5e6;
export const datasetSize = (ds: Dataset): DatasetSize => (ds.train.numUsers * ds.train.numItems > LARGE_CELLS ? "large" : "small");

function baselineEntry(name: BaselineName, description: string): ModelEntry {
  return {
    description,
    usesOnnx: false,
    gridFor: (ds, request = {}) => baselineGrid(name, { size: datasetSize(ds), quick: request.quick }) as unknown as ModelParams[],
    build: (params, c = {}) => {
      const m = buildBaseline(name, params as unknown as AnyBaselineConfig as never);
      const validate = c.validate;
      if (validate) {
        const plan = earlyStoppingPlan(c.size ?? "large");
        m.earlyStopping = {
          evaluate: () => validate(m),
          every: c.schedule?.every ?? plan.every,
          patience: c.schedule?.patience ?? plan.patience,
        };
      }
      return m;
    },
  };
}

function precisionParam(v: HyperValue): "auto" | "float32" | "float64" {
  if (v === "auto" || v === "float32" || v === "float64") return v;
  throw new Error(`inf-ae: precision must be auto, float32 or float64, got '${String(v)}'`);
}

function lambdas(grid: readonly number[], quick: readonly number[] | undefined, request: GridRequest): number[] {
  return [...(request.quick && quick ? quick : grid)];
}

/**
 * A member of the EASE family (lib/models/ease/model.ts): its grid is the
 * product of λ with the member's p and ξ axes (λ-major, so a grid search shares
 * one item Gram); on summaries λ comes from the summary grid and the other axes
 * from their first values.
 */
function linearAutoencoderEntry(
  name: string, description: string,
  axes: {
    lambdas: readonly number[]; dropouts: readonly number[]; bounds: readonly number[];
    /** DAN's exponents (default: α = 1, β = 0, no normalisation). */
    alphas?: readonly number[]; betas?: readonly number[];
    quick: ModelParams[];
  },
): ModelEntry {
  return {
    description,
    usesOnnx: true,
    gridFor: (_ds, r = {}) => {
      if (r.quick) return axes.quick.map((q) => ({ ...q }));
      const first = <T,>(xs: readonly T[]): readonly T[] => (r.summary ? xs.slice(0, 1) : xs);
      const ls = r.summary ? SUMMARY_EASE_LAMBDAS : axes.lambdas;
      const dan = axes.alphas !== undefined || axes.betas !== undefined;
      const grid: ModelParams[] = [];
      // β outermost: one weighted Gram per β; λ next: one factor per (β, λ, p).
      for (const beta of first(axes.betas ?? [0])) for (const lambda of ls) for (const dropout of first(axes.dropouts)) {
        for (const xi of first(axes.bounds)) for (const alpha of first(axes.alphas ?? [1])) {
          grid.push(dan ? { lambda, dropout, xi, alpha, beta } : { lambda, dropout, xi });
        }
      }
      return grid;
    },
    build: (p, c = {}) =>
      new EASE({
        name, lambda: Number(p.lambda), dropout: Number(p.dropout ?? 0), diagonalBound: Number(p.xi ?? 0),
        itemExponent: Number(p.alpha ?? 1), userExponent: Number(p.beta ?? 0),
        scratch: c.scratch, device: c.device, backend: c.backend, timings: c.timings, engine: c.engine === "device" ? "device" : "host",
      }),
  };
}

/**
 * Ranks k of a truncated-SVD grid that the training matrix allows (k ≤
 * min(users, items); larger values all mean "every direction"), deduplicated.
 */
function ranksFor(ds: Dataset, ks: readonly number[]): number[] {
  const bound = Math.min(ds.train.numUsers, ds.train.numItems);
  return [...new Set(ks.map((k) => Math.min(k, bound)))];
}

/** The largest k of a grid: GF-CF and SVD-AE decompose once at that rank for every candidate. */
function largestRank(grid: readonly ModelParams[] | undefined, k: number): number {
  return Math.max(k, ...(grid ?? []).map((q) => Number(q.k ?? 0)));
}

/** GF-CF's grid: α × k (α = 0 is the linear filter alone, whatever k; α up to 5 because Magazine and ML-1M picked 1, the top of 0…1). */
export const GF_CF_ALPHAS: readonly number[] = Object.freeze([0, 0.1, 0.3, 1, 2, 5]);
export const GF_CF_RANKS: readonly number[] = Object.freeze([64, 128, 256]);
/** Turbo-CF's grid: normalisation exponent α × element-wise power s × filter 1, 2, 3 (α from 0.3: ML-1M picked 0.3 over 0.2 and 0.4). */
export const TURBO_CF_ALPHAS: readonly number[] = Object.freeze([0.3, 0.4, 0.5, 0.6]);
export const TURBO_CF_POWERS: readonly number[] = Object.freeze([0.7, 0.8, 1, 1.2]);
/** SVD-AE's ranks (its authors fixed k per dataset, e.g. 148 on ML-1M). */
export const SVD_AE_RANKS: readonly number[] = Object.freeze([16, 32, 64, 128, 256]);

/** An ∞-AE from grid parameters: λ, depth, kernel ("ntk" | "nngp"), support, precision. */
function buildInfiniteAE(p: ModelParams, c: BuildContext = {}): InfiniteAE {
  const kernel = checkAeKernel(String(p.kernel ?? "ntk"));
  return new InfiniteAE({
    lambda: Number(p.lambda),
    depth: Number(p.depth ?? 1),
    kernel,
    support: p.support === undefined || p.support === "all" ? "all" : Number(p.support),
    precision: p.precision === undefined ? undefined : precisionParam(p.precision),
    scratch: c.scratch,
    device: c.device,
    backend: c.backend,
    timings: c.timings,
    engine: c.engine,
    scorePrecision: c.scorePrecision,
    // The grid's other λ with the same kernel, depth and support share one device batch.
    lambdaBatch: c.grid
      ?.filter((q) => (q.depth ?? 1) === (p.depth ?? 1) && q.support === p.support && (q.kernel ?? "ntk") === kernel)
      .map((q) => Number(q.lambda)),
  });
}

/**
 * The finer ∞-AE grid: depth-major (one Gram per depth, reused by every λ);
 * on summaries the summary λ grid at depth 1, quick: two points at depth 1.
 */
function fineInfiniteAEGrid(r: GridRequest, extra: ModelParams): ModelParams[] {
  if (r.summary) return SUMMARY_INFINITE_AE_LAMBDAS.map((lambda) => ({ lambda, depth: 1, ...extra }));
  if (r.quick) return [0.5, 5].map((lambda) => ({ lambda, depth: 1, ...extra }));
  return INFINITE_AE_DEPTHS.flatMap((depth) => INFINITE_AE_FINE_LAMBDAS.map((lambda) => ({ lambda, depth, ...extra })));
}

/** The blend's joint grid (blend.ts): ∞-AE's λ × the item model (ξ = 0: EASE, ξ > 0: RLAE) and its λ × w. */
export const BLEND_USER_LAMBDAS: readonly number[] = Object.freeze([1, 5, 20]);
export const BLEND_ITEM_LAMBDAS: readonly number[] = Object.freeze([500, 1000, 3000]);
export const BLEND_ITEM_BOUNDS: readonly number[] = Object.freeze([0, 0.2]);
export const BLEND_WEIGHTS: readonly number[] = Object.freeze([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);

function blendGrid(r: GridRequest): ModelParams[] {
  if (r.quick) return [0.3, 0.7].map((w) => ({ w, userLambda: 5, itemLambda: 500, itemXi: 0 }));
  // Summaries: few fractional rows, so the summary grids' smaller λ (as inf-ae and ease use there).
  const users = r.summary ? [1e-3, 0.1, 1] : BLEND_USER_LAMBDAS;
  const items = r.summary ? [1, 10, 100] : BLEND_ITEM_LAMBDAS;
  const grid: ModelParams[] = [];
  for (const userLambda of users) for (const itemXi of BLEND_ITEM_BOUNDS) for (const itemLambda of items) {
    for (const w of BLEND_WEIGHTS) grid.push({ w, userLambda, itemLambda, itemXi });
  }
  return grid;
}

function normalisation(v: HyperValue | undefined): BlendNormalisation {
  if (v === undefined || v === "user" || v === "none") return v ?? "user";
  throw new Error(`blend: normalise must be user or none, got '${String(v)}'`);
}

export const MODELS: Record<string, ModelEntry> = {
  pop: {
    description: "PopRec: items ranked by training popularity",
    usesOnnx: false,
    gridFor: () => [{}],
    build: () => new PopRec(),
  },
  "inf-ae": {
    description: "∞-AE: kernel ridge regression with the NTK of an infinitely wide autoencoder",
    usesOnnx: true,
    gridFor: (_ds, r = {}) =>
      lambdas(r.summary ? SUMMARY_INFINITE_AE_LAMBDAS : INFINITE_AE_LAMBDAS, r.summary ? undefined : [5, 20], r).map((lambda) => ({ lambda, depth: 1 })),
    build: buildInfiniteAE,
  },
  "inf-ae-fine": {
    description: "∞-AE on a finer grid: λ from 0.05 and 1–3 hidden layers, chosen on validation",
    usesOnnx: true,
    // kernel is a key of this grid, so that --grid "kernel=ntk,nngp" searches both.
    gridFor: (_ds, r = {}) => fineInfiniteAEGrid(r, { kernel: "ntk" }),
    build: buildInfiniteAE,
  },
  "inf-ae-nngp": {
    description: "∞-AE with the NNGP kernel of the same network (Lee et al., ICLR 2018): λ from 0.05, 1–3 hidden layers",
    usesOnnx: true,
    gridFor: (_ds, r = {}) => fineInfiniteAEGrid(r, { kernel: "nngp" }),
    build: buildInfiniteAE,
  },
  blend: {
    description: "Blend: w·∞-AE + (1 − w)·EASE/RLAE, each user's scores standardised per model; w on validation",
    usesOnnx: true,
    gridFor: (_ds, r = {}) => blendGrid(r),
    build: (p, c = {}) =>
      new Blend({
        weight: Number(p.w),
        user: { lambda: Number(p.userLambda), depth: Number(p.userDepth ?? 1), kernel: checkAeKernel(String(p.userKernel ?? "ntk")) },
        item: { lambda: Number(p.itemLambda), diagonalBound: Number(p.itemXi ?? 0) },
        normalise: normalisation(p.normalise),
        scratch: c.scratch, device: c.device, backend: c.backend, timings: c.timings, engine: c.engine,
      }),
  },
  ease: {
    description: "EASE: item-item closed-form linear autoencoder",
    usesOnnx: true,
    gridFor: (_ds, r = {}) => lambdas(r.summary ? SUMMARY_EASE_LAMBDAS : EASE_LAMBDAS, r.summary ? undefined : [500, 1000], r).map((lambda) => ({ lambda })),
    build: (p, c = {}) =>
      new EASE({
        lambda: Number(p.lambda), scratch: c.scratch, device: c.device, backend: c.backend, timings: c.timings,
        engine: c.engine, lambdaBatch: c.grid?.map((q) => Number(q.lambda)),
      }),
  },
  edlae: linearAutoencoderEntry("edlae", "EDLAE: EASE with emphasised dropout p (Steck, NeurIPS 2020)", {
    lambdas: [10, 100, 500], dropouts: LAE_DROPOUTS, bounds: [0], quick: [{ lambda: 100, dropout: 0.25, xi: 0 }, { lambda: 500, dropout: 0.25, xi: 0 }],
  }),
  dlae: linearAutoencoderEntry("dlae", "DLAE: ridge item-item autoencoder with emphasised dropout, no diagonal constraint (Steck, NeurIPS 2020)", {
    lambdas: [10, 100, 500], dropouts: LAE_DROPOUTS, bounds: [1], quick: [{ lambda: 100, dropout: 0.25, xi: 1 }, { lambda: 500, dropout: 0.25, xi: 1 }],
  }),
  rlae: linearAutoencoderEntry("rlae", "RLAE: EASE with diag(B) ≤ ξ instead of = 0 (Moon, Kim, Lee, SIGIR 2023)", {
    lambdas: [100, 500, 1000, 3000], dropouts: [0], bounds: LAE_DIAGONAL_BOUNDS, quick: [{ lambda: 500, dropout: 0, xi: 0.1 }, { lambda: 1000, dropout: 0, xi: 0.1 }],
  }),
  rdlae: linearAutoencoderEntry("rdlae", "RDLAE: RLAE with emphasised dropout (Moon, Kim, Lee, SIGIR 2023)", {
    lambdas: [10, 100, 500], dropouts: [0.1, 0.25, 0.33], bounds: [0.1, 0.2], quick: [{ lambda: 100, dropout: 0.25, xi: 0.1 }, { lambda: 500, dropout: 0.25, xi: 0.1 }],
  }),
  dan: linearAutoencoderEntry("dan", "DAN: EDLAE with data-adaptive user (β) and item (α) normalisation (Park et al., SIGIR 2025)", {
    // ML-1M picked α = 0.8, β = 0.5 at the low edges of {0.8, 0.9, 1} × {0.5, 0.75, 1}: the grid reaches below both.
    lambdas: [1, 10, 100], dropouts: [0.1], bounds: [0], alphas: [0.6, 0.7, 0.8, 0.9], betas: [0.25, 0.5, 0.75],
    quick: [{ lambda: 10, dropout: 0.1, xi: 0, alpha: 0.9, beta: 0.5 }, { lambda: 100, dropout: 0.1, xi: 0, alpha: 0.9, beta: 0.5 }],
  }),
  "dan-rlae": linearAutoencoderEntry("dan-rlae", "DAN on RLAE: diag(B) ≤ ξ with DAN's normalisations (Park et al., SIGIR 2025)", {
    lambdas: [10, 100], dropouts: [0], bounds: [0.1, 0.2], alphas: [0.8, 0.9], betas: [0.5, 1],
    quick: [{ lambda: 10, dropout: 0, xi: 0.1, alpha: 0.9, beta: 0.5 }, { lambda: 100, dropout: 0, xi: 0.1, alpha: 0.9, beta: 0.5 }],
  }),
  "gf-cf": {
    description: "GF-CF: normalised item filter plus the top-k ideal low-pass term (Shen et al., CIKM 2021)",
    usesOnnx: true,
    gridFor: (ds, r = {}) => {
      if (r.quick) return ranksFor(ds, [64, 256]).map((k) => ({ alpha: 0.3, k }));
      const ks = ranksFor(ds, GF_CF_RANKS);
      return GF_CF_ALPHAS.flatMap((alpha) => (alpha === 0 ? [{ alpha, k: ks[0] }] : ks.map((k) => ({ alpha, k }))));
    },
    build: (p, c = {}) =>
      new GFCF({
        alpha: Number(p.alpha), k: Number(p.k), maxK: largestRank(c.grid, Number(p.k)),
        scratch: c.scratch, device: c.device, backend: c.backend, timings: c.timings,
      }),
  },
  "turbo-cf": {
    description: "Turbo-CF: polynomial low-pass filters of the normalised item Gram, no decomposition (Park et al., SIGIR 2024)",
    usesOnnx: true,
    gridFor: (_ds, r = {}) => {
      if (r.quick) return [1, 2].map((filter) => ({ alpha: 0.5, power: 1, filter }));
      // (α, s)-major: the filters of one (α, s) share P̄, P̄², P̄³.
      return TURBO_CF_ALPHAS.flatMap((alpha) => TURBO_CF_POWERS.flatMap((power) => [1, 2, 3].map((filter) => ({ alpha, power, filter }))));
    },
    build: (p, c = {}) =>
      new TurboCF({
        alpha: Number(p.alpha), power: Number(p.power), filter: Number(p.filter) as TurboCFFilter,
        scratch: c.scratch, device: c.device, backend: c.backend, timings: c.timings,
      }),
  },
  "svd-ae": {
    description: "SVD-AE: R̃·(R̃ₖ)⁺·R from a rank-k truncated SVD of the normalised matrix (Hong et al., IJCAI 2024)",
    usesOnnx: true,
    gridFor: (ds, r = {}) => ranksFor(ds, r.quick ? [32, 128] : SVD_AE_RANKS).map((k) => ({ k })),
    build: (p, c = {}) =>
      new SVDAE({
        k: Number(p.k), maxK: largestRank(c.grid, Number(p.k)),
        scratch: c.scratch, device: c.device, backend: c.backend, timings: c.timings,
      }),
  },
  "bias-only": baselineEntry("bias-only", "Bias only: global, user and item biases"),
  mf: baselineEntry("mf", "MF: matrix factorisation with BPR loss"),
  neumf: baselineEntry("neumf", "NeuMF: GMF and MLP towers fused (He et al. 2017)"),
  lightgcn: baselineEntry("lightgcn", "LightGCN: propagation over the user-item graph (He et al. 2020)"),
  multvae: baselineEntry("multvae", "MultVAE: variational autoencoder, multinomial likelihood (Liang et al. 2018)"),
};

export function modelEntry(name: string): ModelEntry {
  const m = MODELS[name];
  if (!m) throw new Error(`unknown model '${name}' (known: ${Object.keys(MODELS).join(", ")})`);
  return m;
}
