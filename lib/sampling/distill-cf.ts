/**
 * DISTILL-CF as a sampler (PROTOCOL.md §4–5): synthesises μ = budget users
 * with lib/distill/run.ts and returns the summary's weighted rows as the
 * training matrix (`synthetic: true`).
 *
 * DISTILL-CF validates on real users to pick λ and keep its best summary, so
 * the sampler is built with the dataset whose validation split it may use;
 * `sample(train, …)` distils `train` (e.g. a noisy copy of the dataset's
 * training matrix) in place of the dataset's own.
 */
import type { Dataset } from "../data/dataset.ts";
import type { InteractionMatrix } from "../data/matrix.ts";
import { type RunDistillHooks, type RunDistillOptions, runDistill } from "../distill/run.ts";
import { summaryToMatrix } from "../distill/summary.ts";
import { type Budget, checkBudget, type Sampler, type SampleResult, usersWithInteractions } from "./sampler.ts";

export class DistillCfSampler implements Sampler {
  readonly name = "distill-cf";

  constructor(
    readonly dataset: Dataset,
    readonly options: Partial<Omit<RunDistillOptions, "mu" | "seed">> = {},
    readonly hooks: RunDistillHooks = {},
  ) {}

  async sample(train: InteractionMatrix, budget: Budget, seed: number): Promise<SampleResult> {
    const b = checkBudget(train, budget);
    const { dataset } = this;
    if (train.numUsers !== dataset.train.numUsers || train.numItems !== dataset.train.numItems) {
      throw new Error(
        `distill-cf: training matrix ${train.numUsers}×${train.numItems} does not match dataset ${dataset.name} (${dataset.train.numUsers}×${dataset.train.numItems})`,
      );
    }
    // An interaction share f reads as f · (users with entries) synthetic users.
    const mu = "users" in b ? b.users : Math.max(1, Math.round(b.interactions * usersWithInteractions(train).length));
    const ds = train === dataset.train ? dataset : { ...dataset, train };
    const run = await runDistill(ds, { ...this.options, mu, seed }, this.hooks);
    const matrix = summaryToMatrix(run.summary);
    return {
      train: matrix,
      keptUsers: Int32Array.from(run.initialUsers),
      keptInteractions: matrix.nnz,
      synthetic: true,
      info: { lambda: run.lambda, bestStep: run.bestStep, stepsRun: run.stepsRun, stopReason: run.stopReason, sumOfWeights: matrix.total },
    };
  }
}
