/**
 * infrec's public API. A deliberately small surface: data, models behind one
 * interface, the evaluation protocol. Everything else under lib/ is internal.
 */
export { InteractionMatrix, type DuplicatePolicy } from "./lib/data/matrix.ts";
export { type Dataset, type DatasetStats, datasetStats } from "./lib/data/dataset.ts";
export { loadPaperDataset } from "./lib/data/paper.ts";
export { findDataset, listDatasets, loadDataset } from "./lib/data/registry.ts";
export type { FitOptions, HyperParameters, Recommender } from "./lib/models/model.ts";
export { PopRec } from "./lib/models/pop.ts";
export { MODELS, modelEntry } from "./lib/models/registry.ts";
export { evaluate, evaluateView, type EvaluateOptions, type EvaluationResult, type Metrics, splitView } from "./lib/eval/evaluate.ts";
export { auc, hitRate, ndcg, psp, topK } from "./lib/eval/metrics.ts";
export { gridSearch, type GridSearchResult } from "./lib/eval/grid.ts";
export { ntk, ntkGramReference } from "./lib/kernel/ntk.ts";
export { Rng } from "./lib/random.ts";
