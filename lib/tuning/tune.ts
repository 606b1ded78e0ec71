/**
 * Tuning a registered model on a dataset: the registry's grid (the summary
 * grid when fitting on a DISTILL-CF summary), one shared scratch for the
 * candidates, early stopping of gradient-trained models on validation HR@100,
 * and the grid search of lib/eval. The CLI, the scripts, DISTILL-CF's
 * validation and the sampling experiments all tune through here.
 */
import type { Dataset } from "../data/dataset.ts";
import type { InteractionMatrix } from "../data/matrix.ts";
import { evaluate } from "../eval/evaluate.ts";
import { gridSearch, type GridSearchOptions, type GridSearchResult } from "../eval/grid.ts";
import type { Recommender } from "../models/model.ts";
import { type BuildContext, datasetSize, modelEntry, type ModelParams } from "../models/registry.ts";
import { FitScratch } from "../models/scratch.ts";

export interface TuneOptions extends Omit<GridSearchOptions, "train"> {
  /** Matrix to fit on (default the dataset's train split); the real users are always scored. */
  train?: InteractionMatrix;
  /** `train` is a DISTILL-CF summary: search the registry's summary grid. */
  summary?: boolean;
  /** Candidates to search instead of the registry's grid. */
  grid?: ModelParams[];
  /** The registry's small smoke-run grid. */
  quick?: boolean;
  /** Device, backend, timings and engine for the models (BuildContext). */
  build?: Pick<BuildContext, "device" | "backend" | "timings" | "engine" | "scorePrecision">;
  /** Gradient-trained models stop early on validation HR@100 (default true). */
  earlyStopping?: boolean;
}

export interface TuneResult extends GridSearchResult<ModelParams> {
  /** The fitted best model, with `keepBest`. */
  model?: Recommender;
}

/** Validation HR@100 of a model on a dataset: the early-stopping score. */
export function validationHitRate(ds: Dataset): (model: Recommender) => Promise<number> {
  return async (model) => (await evaluate(model, ds, { split: "validation", aucNegatives: 0 })).metrics["HR@100"];
}

/** Grid-searches the registered model `name` on `ds` (validation picks, test reports). */
export async function tuneModel(ds: Dataset, name: string, options: TuneOptions = {}): Promise<TuneResult> {
  const entry = modelEntry(name);
  const grid = options.grid ?? entry.gridFor(ds, { quick: options.quick, summary: options.summary });
  const scratch = new FitScratch();
  const context: BuildContext = {
    ...options.build,
    scratch,
    grid,
    size: datasetSize(ds),
    validate: options.earlyStopping === false ? undefined : validationHitRate(ds),
  };
  try {
    const result = await gridSearch(ds, grid, (p) => entry.build(p, context), options);
    return result as TuneResult;
  } finally {
    scratch.clear();
  }
}
