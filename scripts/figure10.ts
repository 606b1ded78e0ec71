/**
 * The paper's Figure 10 (appendix B.6): Figure 2 with MVAE (MultVAE) in place
 * of EASE. MVAE's test HR@10 and PSP@10 against the number of training users
 * (log scale) kept by each sampler; the other metrics are in the JSON and CSV.
 * The dashed rule is MVAE on all users. Like EASE in Figure 2, MVAE is not
 * the model DISTILL-CF distils with (∞-AE is), so the DISTILL-CF line shows
 * how well its summaries transfer. MVAE's candidates are the registry's
 * (lib/models/grids.ts), picked on validation HR@100 for every sample.
 *
 *   npx tsx scripts/figure10.ts [--datasets ml-1m] [--samplers …] [--budgets …] [--quick] [--out results]
 * writes results/figure10.{csv,json,svg,png} (--quick: figure10-quick.*).
 */
import { isEntry, main, parseFigureArgs } from "./figures-common.ts";
import { runUserSweepFigure } from "./figure1.ts";

if (isEntry(import.meta, "figure10.ts")) {
  await main(async () => {
    const ctx = parseFigureArgs("figure10", {
      datasets: ["ml-1m"],
      samplers: ["interaction-random", "user-random", "head-user", "svp-cf-user", "distill-cf"],
      quickSamplers: ["user-random", "distill-cf"],
    });
    if (ctx) await runUserSweepFigure(ctx, "multvae", "Figure 10: MVAE trained on sampled users");
  }, "figure10");
}
