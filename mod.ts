/**
 * infrec's public API: a deliberately small surface. Data, the models behind
 * one interface, the evaluation protocol, saved duals and edge inference,
 * DISTILL-CF and the samplers. Everything else under lib/ is internal.
 */
export { InteractionMatrix, type DuplicatePolicy } from "./lib/data/matrix.ts";
export { type Dataset, type DatasetStats, datasetStats } from "./lib/data/dataset.ts";
export { loadPaperDataset } from "./lib/data/paper.ts";
export { findDataset, listDatasets, loadDataset } from "./lib/data/registry.ts";
export { loadDataFile } from "./lib/data/load-file.ts";
export { readInteractions, type RawInteractions } from "./lib/data/text.ts";
export { buildDataset, loadSplit, saveSplit } from "./lib/data/split.ts";

export type { FitOptions, HyperParameters, Recommender } from "./lib/models/model.ts";
export { PopRec } from "./lib/models/pop.ts";
export { InfiniteAE, type InfiniteAEOptions } from "./lib/models/infinite-ae/model.ts";
export { EASE, type EASEOptions } from "./lib/models/ease.ts";
export { BiasOnly } from "./lib/models/bias-only.ts";
export { MatrixFactorization } from "./lib/models/mf.ts";
export { NeuMf } from "./lib/models/neumf.ts";
export { LightGcn } from "./lib/models/lightgcn.ts";
export { MultVae } from "./lib/models/multvae.ts";
export { MODELS, modelEntry } from "./lib/models/registry.ts";
export { decodeDuals, type DualsArtifact, encodeDuals } from "./lib/models/infinite-ae/artifact.ts";
export { DualsScorer, type Recommendation } from "./lib/models/infinite-ae/duals-scorer.ts";
export { EdgeRecommender } from "./lib/edge/mod.ts";

export { evaluate, evaluateView, type EvaluateOptions, type EvaluationResult, type Metrics, splitView } from "./lib/eval/evaluate.ts";
export { auc, hitRate, ndcg, psp, topK } from "./lib/eval/metrics.ts";
export { gridSearch, type GridSearchResult } from "./lib/eval/grid.ts";

export { ntk, ntkGramReference } from "./lib/ntk/ntk.ts";
export { ntkGram } from "./lib/ntk/gram.ts";
export { getBackend, type Backend, type DeviceRequest } from "./lib/onnx/backend.ts";
export { SingularKernelError } from "./lib/linalg/cholesky.ts";
export { SpdSolver } from "./lib/linalg/spd-solver.ts";
export { solveDuals } from "./lib/models/infinite-ae/duals.ts";

export { runDistill, type RunDistillOptions } from "./lib/distill/run.ts";
export { loadSummary, saveSummary, summaryToMatrix } from "./lib/distill/summary.ts";
export { makeSampler, SAMPLER_NAMES } from "./lib/sampling/registry.ts";
export { injectNoise } from "./lib/sampling/noise.ts";
export { Rng } from "./lib/random.ts";
