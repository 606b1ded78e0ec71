/** Worker side of BlockFactorPool (block-factor.ts): factors one diagonal block per message. */
import { serveJobs } from "../util/worker.ts";
import { type BlockFactorJob, type BlockFactorResult, factorBlockInverse } from "./block-factor.ts";

await serveJobs<BlockFactorJob, BlockFactorResult>("block-factor-worker", (job) => {
  const r = factorBlockInverse(job);
  const transfer: ArrayBuffer[] = [];
  if (r.inverse) transfer.push(r.inverse.buffer as ArrayBuffer);
  if (r.factor) transfer.push(r.factor.buffer as ArrayBuffer);
  return { reply: r, transfer };
});
