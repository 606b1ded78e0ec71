/**
 * Test metrics of models trained on a DISTILL-CF summary, for comparing the
 * distillation options (`infrec distill --evaluate`): each model's λ is picked
 * on validation (HR@100, the registry's summary grids, as `infrec fit
 * --train-on` does), then the pick is evaluated on test. With learned targets
 * ∞-AE regresses Y on X̂ (kip.ts); EASE uses the X̂ rows alone.
 */
import type { Dataset } from "../data/dataset.ts";
import type { EvaluationResult } from "../eval/evaluate.ts";
import { gridSearch } from "../eval/grid.ts";
import { SUMMARY_INFINITE_AE_LAMBDAS } from "../models/registry.ts";
import type { Backend } from "../onnx/backend.ts";
import { tuneModel } from "../tuning/tune.ts";
import { TargetedInfiniteAE } from "./kip.ts";
import { summaryToMatrix, type Summary } from "./summary.ts";

export type SummaryModel = "inf-ae" | "ease";

export interface SummaryEvaluation {
  model: SummaryModel;
  /** Whether ∞-AE used the learned targets. */
  targets: boolean;
  /** λ picked on validation HR@100. */
  lambda: number;
  validation: Record<string, number>;
  test: Record<string, number>;
}

function metricsOf(result: EvaluationResult | undefined, what: string): Record<string, number> {
  if (!result) throw new Error(`evaluateSummary: no ${what} evaluation came back`);
  return result.metrics;
}

export async function evaluateSummary(
  ds: Dataset,
  summary: Summary,
  targets: Float32Array | null,
  models: readonly SummaryModel[],
  backend?: Backend,
): Promise<SummaryEvaluation[]> {
  const train = summaryToMatrix(summary);
  const out: SummaryEvaluation[] = [];
  const quiet = { onSkip: () => {}, test: true };
  for (const model of models) {
    if (model === "inf-ae" && targets) {
      const y = Float64Array.from(targets);
      const r = await gridSearch(ds, SUMMARY_INFINITE_AE_LAMBDAS, (l) => new TargetedInfiniteAE({ lambda: l, depth: 1, targets: y, backend }), { ...quiet, train });
      out.push({ model, targets: true, lambda: r.best.params, validation: r.best.validation.metrics, test: metricsOf(r.test, "test") });
    } else {
      const r = await tuneModel(ds, model, { ...quiet, train, summary: true, build: backend ? { backend } : undefined });
      out.push({ model, targets: false, lambda: Number(r.best.params.lambda), validation: r.best.validation.metrics, test: metricsOf(r.test, "test") });
    }
  }
  return out;
}
