/**
 * infrec's public API. Everything else under lib/ is internal and may change.
 *
 *   import { loadDataset, tuneModel } from "infrec";
 *   const ds = await loadDataset("magazine");
 *   const { test, hyperParameters } = await tuneModel(ds, "inf-ae", { test: true });
 */

// ── Data ────────────────────────────────────────────────────────────────────
/** A sparse users × items matrix of (possibly weighted) interactions. */
export { InteractionMatrix } from "./lib/data/matrix.ts";
/** A dataset: train / validation / test matrices with user and item ids. */
export type { Dataset, DatasetStats } from "./lib/data/dataset.ts";
/** Loads a dataset by name (the bundled Magazine, or one found in a data directory). */
export { loadDataset, type LoadOptions } from "./lib/data/registry.ts";
/** Loads interactions from a file or folder (MovieLens, CSV/TSV, RecBole, Netflix, paper format) and splits them. */
export { loadDataFile } from "./lib/data/load-file.ts";
/** Saves and reloads a dataset's split, so experiments can share it exactly. */
export { loadSplit, saveSplit } from "./lib/data/split.ts";
/** Reads a raw interaction log (ids, ratings and timestamps where the format has them). */
export { type RawInteractions, readInteractions } from "./lib/data/text.ts";
/** Interactions cut by time into equal-sized periods (continual learning), and matrices of chosen rows. */
export { rowsToMatrix, selectRows, splitByTime, type TimePeriod } from "./lib/data/periods.ts";
/** Hold-out rules besides the paper's split (leave-one-out, temporal), and the k-core filter. */
export { leaveOneOutSplit, splitByRule, type SplitRule, temporalSplit } from "./lib/data/holdout.ts";
export { kCore, type KCoreReport } from "./lib/data/kcore.ts";

// ── Models ──────────────────────────────────────────────────────────────────
/** The one interface every recommender implements (fit, scoreBlock, hyperParameters). */
export type { FitOptions, Recommender } from "./lib/models/model.ts";
/** Every model by name, with its validation grid and constructor. */
export { MODELS, modelEntry, type ModelParams } from "./lib/models/registry.ts";
/** ∞-AE: kernel ridge regression with the NTK of an infinitely wide autoencoder. */
export { InfiniteAE, type InfiniteAEOptions } from "./lib/models/infinite-ae/model.ts";
/** EASE: the item–item closed-form linear autoencoder. */
export { EASE, type EASEOptions } from "./lib/models/ease/model.ts";
/** The saved-duals artifact of a fitted ∞-AE (support rows, α, λ, item ids), as bytes. */
export { decodeDuals, type DualsArtifact, encodeDuals } from "./lib/models/infinite-ae/artifact.ts";
/** Top-k recommendations for new users from saved duals, on any backend. */
export { DualsScorer, type Recommendation } from "./lib/models/infinite-ae/duals-scorer.ts";
/** Saved models of every kind (∞-AE, EASE, PopRec): make, encode, decode, score, and the top-k for many users at once. */
export {
  artifactOf, decodeArtifact, encodeArtifact, hasSavedForm, type ModelArtifact, type RankedItems, recommendTopK, savedModel, type SavedModel,
} from "./lib/models/artifact.ts";
/** K + c·I was not numerically positive definite, or the solve missed its residual bound. */
export { SingularKernelError } from "./lib/linalg/cholesky.ts";

// ── Evaluation and tuning ───────────────────────────────────────────────────
/** The paper's protocol: HR, NDCG, PSP at cut-offs and a pooled AUC on validation or test; Recall, Precision, MAP, MRR, coverage and per-user rows on request. */
export {
  evaluate, type EvalSplit, type EvaluateOptions, type EvaluationResult, METRIC_FAMILIES, type MetricFamily, type Metrics, PAPER_METRICS, type PerUserMetrics,
  type TieRule,
} from "./lib/eval/evaluate.ts";
/** PSP's propensity normalisation (the official code's or the textbook one). */
export type { PspNormalisation } from "./lib/eval/metrics.ts";
/** Per-user metric rows as CSV or JSON Lines. */
export { formatPerUser, writePerUser } from "./lib/eval/per-user.ts";
/** A grid given as "key=v1,v2;key2=v3", substituted into a model's default grid. */
export { type GridSpec, overrideGrid, parseGridSpec } from "./lib/eval/grid-spec.ts";
/** A registered model tuned on validation (the summary grid on DISTILL-CF summaries), tested at the best. */
export { tuneModel, type TuneOptions, type TuneResult } from "./lib/tuning/tune.ts";

// ── DISTILL-CF and sampling ─────────────────────────────────────────────────
/** Synthesises a DISTILL-CF summary of a dataset (μ fake users). */
export { type DistillRunResult, runDistill, type RunDistillOptions } from "./lib/distill/run.ts";
/** Summary files, and a summary as a matrix any model can be fitted on. */
export { loadSummary, saveSummary, type Summary, summaryToMatrix } from "./lib/distill/summary.ts";
/** The samplers of Figures 1–4 (random, head-user, SVP-CF, DISTILL-CF) by name. */
export { makeSampler, SAMPLER_NAMES } from "./lib/sampling/registry.ts";
export type { Sampler } from "./lib/sampling/sampler.ts";
/** Flips a share of each user's entries (the noise of Figures 3–4). */
export { injectNoise } from "./lib/sampling/noise.ts";

// ── Runtime ─────────────────────────────────────────────────────────────────
/** The ONNX Runtime backend (cpu, wasm, cuda, webgpu, auto) the heavy math runs on. */
export { type Backend, type DeviceRequest, getBackend } from "./lib/onnx/backend.ts";

// ── Edge ────────────────────────────────────────────────────────────────────
/** Recommends from artifact bytes on onnxruntime-web only: browsers, Deno, Bun. */
export { type EdgeOptions, EdgeRecommender } from "./lib/edge/mod.ts";
