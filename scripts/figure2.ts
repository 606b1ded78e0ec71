/**
 * The paper's Figure 2: EASE's test HR@10 and PSP@10 against the number of
 * training users (log scale) kept by each sampler, on ML-1M; the other
 * metrics are in the JSON and CSV. The dashed rule is EASE on all users.
 *
 *   npx tsx scripts/figure2.ts [--datasets ml-1m] [--samplers …] [--budgets …] [--quick] [--out results]
 * writes results/figure2.{csv,json,svg,png} (--quick: figure2-quick.*).
 */
import { isEntry, main, parseFigureArgs } from "./figures-common.ts";
import { runUserSweepFigure } from "./figure1.ts";

if (isEntry(import.meta, "figure2.ts")) {
  await main(async () => {
    const ctx = parseFigureArgs("figure2", {
      datasets: ["ml-1m"],
      samplers: ["interaction-random", "user-random", "head-user", "svp-cf-user", "distill-cf"],
      quickSamplers: ["user-random", "svp-cf-user"],
    });
    if (ctx) await runUserSweepFigure(ctx, "ease", "Figure 2: EASE trained on sampled users");
  }, "figure2");
}
