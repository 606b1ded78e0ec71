/**
 * Runs fast-sample.ts's forward and backward over row ranges in worker
 * threads (shared memory), falling back to the calling thread when workers
 * are unavailable or `workers` is 0. Results are bit-identical to the
 * single-threaded functions: rows are independent and each row's noise comes
 * from its own counters.
 */
import { fastSampleBackwardRows, fastSampleRows, noiseStoreBytes, type FastSampleConfig, type FastSampled } from "./fast-sample.ts";
import { sharedNoiseKernelAvailable, sharedNoiseMemory } from "./noise-kernel.ts";
import type { SampleJob } from "./sample-worker.ts";
import { WorkerGroup, type WorkerReply } from "../util/worker.ts";

/** The sampling worker: the sibling .ts from the sources, dist/sample-worker.js from the build (scripts/build.ts). */
const sampleWorkerUrl = (): URL => new URL(import.meta.url.endsWith(".ts") ? "./sample-worker.ts" : "./sample-worker.js", import.meta.url);

function shared(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(n * 8));
}

export class SamplingPool {
  private readonly group: WorkerGroup<SampleJob, WorkerReply>;
  private shape = "";
  private bufs: {
    logits: Float64Array;
    dSupport: Float64Array;
    dLogits: Float64Array;
    sampled: FastSampled;
    noise: Float32Array | null;
    /** The noise store inside a shared WebAssembly memory, one kernel region per worker before it. */
    shared: { memory: WebAssembly.Memory; regionBytes: number; storeOffset: number } | null;
  } | null = null;
  /** Set when a runtime could not pass a shared WebAssembly memory to its workers. */
  private sharedMemoryFailed = false;

  /**
   * `storeNoiseBytes`: keep the forward's E_k (γ·μ·I float32) for the backward
   * when that many bytes or fewer are needed (0: always regenerate).
   */
  constructor(readonly size: number, readonly storeNoiseBytes = 0) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`SamplingPool: workers must be an integer ≥ 0, got ${size}`);
    if (!(storeNoiseBytes >= 0)) throw new Error(`SamplingPool: storeNoiseBytes must be ≥ 0, got ${storeNoiseBytes}`);
    this.group = new WorkerGroup(sampleWorkerUrl, "sampling worker", size);
  }

  /** Set when workers could not start; sampling then runs in this thread. */
  get fallbackReason(): string | null {
    return this.group.fallbackReason;
  }

  /** Whether the current noise store lives in a shared WebAssembly memory (written and read in place by the workers). */
  get noiseInSharedMemory(): boolean {
    return this.bufs?.shared != null;
  }

  /** Whether the backward of this shape reads stored noise. */
  storesNoise(mu: number, items: number, gamma: number): boolean {
    return noiseStoreBytes(mu, items, gamma) <= this.storeNoiseBytes;
  }

  private buffers(mu: number, items: number, gamma: number) {
    const key = `${mu}x${items}x${gamma}`;
    if (!this.bufs || this.shape !== key) {
      const n = mu * items;
      this.bufs = {
        logits: shared(n),
        dSupport: shared(n),
        dLogits: shared(n),
        sampled: { support: shared(n), summed: shared(n), weights: shared(n), partition: shared(mu * gamma) },
        noise: null,
        shared: null,
      };
      this.bufs.noise = null;
      this.bufs.shared = null;
      if (this.storesNoise(mu, items, gamma)) {
        const floats = noiseStoreBytes(mu, items, gamma) / 4;
        if (this.size > 0 && !this.sharedMemoryFailed && sharedNoiseKernelAvailable()) {
          // The workers' kernels write and read the store in place (no copies through JavaScript).
          const { memory, regionBytes, storeOffset } = sharedNoiseMemory(this.size, items, floats);
          this.bufs.shared = { memory, regionBytes, storeOffset };
          this.bufs.noise = new Float32Array(memory.buffer, storeOffset, floats);
        } else {
          this.bufs.noise = new Float32Array(new SharedArrayBuffer(4 * floats));
        }
      }
      this.shape = key;
    }
    return this.bufs;
  }

  private async dispatch(kind: "forward" | "backward", mu: number, items: number, cfg: FastSampleConfig): Promise<void> {
    const b = this.buffers(mu, items, cfg.gamma);
    const workers = await this.group.ensure();
    if (workers.length === 0) {
      if (kind === "forward") fastSampleRows(b.logits, mu, items, cfg, b.sampled, 0, mu, b.noise);
      else fastSampleBackwardRows(b.sampled, mu, items, cfg, b.dSupport, b.dLogits, 0, mu, b.noise);
      return;
    }
    const buffers: Record<string, SharedArrayBuffer> = {};
    for (const [name, arr] of Object.entries({ logits: b.logits, dSupport: b.dSupport, dLogits: b.dLogits, ...b.sampled })) {
      buffers[name] = arr.buffer as SharedArrayBuffer;
    }
    if (b.noise && !b.shared) buffers.noise = b.noise.buffer as SharedArrayBuffer;
    const per = Math.ceil(mu / workers.length);
    const jobs: Promise<WorkerReply>[] = [];
    for (let w = 0; w < workers.length; w++) {
      const r0 = Math.min(mu, w * per);
      const r1 = Math.min(mu, r0 + per);
      const memory = b.shared ? { memory: b.shared.memory, regionBase: w * b.shared.regionBytes, regionBytes: b.shared.regionBytes, storeOffset: b.shared.storeOffset } : undefined;
      if (r1 > r0) jobs.push(workers[w].post({ kind, mu, items, cfg, r0, r1, buffers, memory }));
    }
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed && b.shared && kind === "forward" && isCloneError(failed.reason)) {
      // This runtime cannot post a shared WebAssembly memory: keep the workers, store through a SharedArrayBuffer.
      this.sharedMemoryFailed = true;
      const logits = Float64Array.from(b.logits);
      this.shape = "";
      this.buffers(mu, items, cfg.gamma).logits.set(logits);
      await this.dispatch(kind, mu, items, cfg);
      return;
    }
    if (failed) {
      // A worker that cannot load (e.g. no TypeScript loader) is not fatal:
      // redo the whole job here and stop using workers.
      await this.group.fail(failed.reason);
      if (kind === "forward") fastSampleRows(b.logits, mu, items, cfg, b.sampled, 0, mu, b.noise);
      else fastSampleBackwardRows(b.sampled, mu, items, cfg, b.dSupport, b.dLogits, 0, mu, b.noise);
    }
  }

  /** Forward sample; the returned buffers are the pool's and are overwritten by the next call. */
  async sample(logits: Float64Array, mu: number, items: number, cfg: FastSampleConfig): Promise<FastSampled> {
    if (logits.length !== mu * items) throw new Error(`SamplingPool.sample: logits have ${logits.length} values, expected ${mu}×${items}`);
    const b = this.buffers(mu, items, cfg.gamma);
    b.logits.set(logits);
    await this.dispatch("forward", mu, items, cfg);
    // The current buffers: a runtime that cannot post a shared memory made new ones.
    return this.buffers(mu, items, cfg.gamma).sampled;
  }

  /** Backward of the last `sample`; returns a fresh dL array. */
  async backward(mu: number, items: number, cfg: FastSampleConfig, dSupport: Float64Array): Promise<Float64Array> {
    const b = this.buffers(mu, items, cfg.gamma);
    b.dSupport.set(dSupport);
    await this.dispatch("backward", mu, items, cfg);
    return Float64Array.from(b.dLogits);
  }

  async close(): Promise<void> {
    await this.group.close();
  }
}

function isCloneError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === "DataCloneError" || /clone|serializ/i.test(e instanceof Error ? e.message : String(e));
}
