/**
 * Worker side of `SamplingPool` (sample-pool.ts): runs fast-sample.ts on a
 * range of rows over shared memory. Works as a Node worker_thread and as a
 * Web Worker (Deno, Bun).
 */
import { fastSampleBackwardRows, fastSampleRows, type FastSampleConfig } from "./fast-sample.ts";
import { serveJobs } from "../util/worker.ts";

export interface SampleJob {
  kind: "forward" | "backward";
  mu: number;
  items: number;
  cfg: FastSampleConfig;
  r0: number;
  r1: number;
  /** SharedArrayBuffers: logits, support, summed, weights, partition, dSupport, dLogits, and optionally noise (float32). */
  buffers: Record<string, SharedArrayBuffer>;
}

function f64(b: SharedArrayBuffer | undefined, name: string): Float64Array {
  if (!b) throw new Error(`sample-worker: missing buffer ${name}`);
  return new Float64Array(b);
}

function runJob(job: SampleJob): void {
  const b = job.buffers;
  const sampled = { support: f64(b.support, "support"), summed: f64(b.summed, "summed"), weights: f64(b.weights, "weights"), partition: f64(b.partition, "partition") };
  const store = b.noise ? new Float32Array(b.noise) : null;
  if (job.kind === "forward") fastSampleRows(f64(b.logits, "logits"), job.mu, job.items, job.cfg, sampled, job.r0, job.r1, store);
  else fastSampleBackwardRows(sampled, job.mu, job.items, job.cfg, f64(b.dSupport, "dSupport"), f64(b.dLogits, "dLogits"), job.r0, job.r1, store);
}

await serveJobs<SampleJob, Record<string, never>>("sample-worker", (job) => {
  runJob(job);
  return { reply: {} };
});
