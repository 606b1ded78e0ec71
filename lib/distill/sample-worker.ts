/**
 * Worker side of `SamplingPool` (sample-pool.ts): runs fast-sample.ts on a
 * range of rows over shared memory. Works as a Node worker_thread and as a
 * Web Worker (Deno, Bun).
 */
import { fastSampleBackwardRows, fastSampleRows, noiseKernel, type FastSampleConfig } from "./fast-sample.ts";
import { NoiseKernel } from "./noise-kernel.ts";
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
  /**
   * A shared WebAssembly memory holding the float32 noise store at
   * `storeOffset` and this worker's kernel region [regionBase, regionBase +
   * regionBytes) (sample-pool.ts); replaces `buffers.noise`.
   */
  memory?: { memory: WebAssembly.Memory; regionBase: number; regionBytes: number; storeOffset: number };
}

function f64(b: SharedArrayBuffer | undefined, name: string): Float64Array {
  if (!b) throw new Error(`sample-worker: missing buffer ${name}`);
  return new Float64Array(b);
}

function runJob(job: SampleJob): void {
  const b = job.buffers;
  const sampled = { support: f64(b.support, "support"), summed: f64(b.summed, "summed"), weights: f64(b.weights, "weights"), partition: f64(b.partition, "partition") };
  let store: Float32Array | null = b.noise ? new Float32Array(b.noise) : null;
  let kernel = noiseKernel();
  if (job.memory) {
    const { memory, regionBase, regionBytes, storeOffset } = job.memory;
    store = new Float32Array(memory.buffer, storeOffset, job.mu * job.cfg.gamma * job.items);
    kernel = NoiseKernel.attach(memory, regionBase, regionBytes);
  }
  if (job.kind === "forward") fastSampleRows(f64(b.logits, "logits"), job.mu, job.items, job.cfg, sampled, job.r0, job.r1, store, kernel);
  else fastSampleBackwardRows(sampled, job.mu, job.items, job.cfg, f64(b.dSupport, "dSupport"), f64(b.dLogits, "dLogits"), job.r0, job.r1, store, kernel);
}

await serveJobs<SampleJob, Record<string, never>>("sample-worker", (job) => {
  runJob(job);
  return { reply: {} };
});
