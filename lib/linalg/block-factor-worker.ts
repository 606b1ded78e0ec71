/** Worker side of BlockFactorPool (block-factor.ts): factors one diagonal block per message. */
import { serveJobs } from "../util/worker.ts";
import { type BlockFactorJob, type BlockFactorResult, factorBlockInverse } from "./block-factor.ts";

await serveJobs<BlockFactorJob, BlockFactorResult>("block-factor-worker", (job) => {
  const r = factorBlockInverse(job);
  return { reply: r, transfer: r.inverse ? [r.inverse.buffer] : [] };
});
