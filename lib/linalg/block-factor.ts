/**
 * The host's share of the device Cholesky (device-cholesky.ts): each step
 * brings one b × b diagonal block per shift to the host, which factors it in
 * float64 and returns D = L_jj⁻¹. The shifts' blocks are independent, so a
 * small pool of workers (block-factor-worker.ts) factors them side by side:
 * measured on the lent H100 machine's host, 6 shifts × 24 blocks of 256 took
 * 2.45 s on one thread, the largest piece of the ML-1M protocol outside ORT.
 * Where workers cannot start (or for one job) the same function runs here.
 */
import { choleskyFactorInto, type DiagonalBlockJob, invertLowerTriangular, SingularKernelError, type SingularKernelDetail } from "./cholesky.ts";
import { logicalCores, WorkerGroup, type WorkerReply } from "../util/worker.ts";
import { blockKernel } from "./block-kernel.ts";

export interface BlockFactorJob extends DiagonalBlockJob {
  /** Also return the factor L itself (the host Cholesky writes it into its L). */
  withFactor?: boolean;
}

export interface BlockFactorResult {
  /** L⁻¹ (b × b, float32), or null when the block is not positive definite. */
  inverse: Float32Array | null;
  failure: SingularKernelDetail | null;
  /** L (b × b, float32, zero above the diagonal), when the job asked withFactor. */
  factor?: Float32Array;
  /** The smallest pivot ratio seen (when factored). */
  minRatio?: number;
}

/** D = L⁻¹ for the Cholesky factor L of the block plus the shift, in float64. */
export function factorBlockInverse(job: BlockFactorJob): BlockFactorResult {
  const { b, block, shift } = job;
  if (block.length !== b * b || job.diagonal.length !== b) throw new Error(`factorBlockInverse: block has ${block.length} values and ${job.diagonal.length} diagonal entries for b = ${b}`);
  const kernel = blockKernel();
  if (kernel) {
    try {
      const r = kernel.factorInverse(block, b, shift, job.diagonal, job.minPivotRatio, job.j0, job.withFactor === true);
      return { inverse: r.inverse, failure: null, minRatio: r.minRatio, factor: job.withFactor ? r.factor : undefined };
    } catch (e) {
      if (!(e instanceof SingularKernelError)) throw e;
      return { inverse: null, failure: e.detail };
    }
  }
  const a = new Float64Array(b * b);
  for (let i = 0; i < b; i++) for (let c = 0; c <= i; c++) a[i * b + c] = block[i * b + c];
  let minRatio: number;
  try {
    minRatio = choleskyFactorInto(a, b, a, { shift, diagonal: job.diagonal, offset: job.j0, minPivotRatio: job.minPivotRatio });
  } catch (e) {
    if (!(e instanceof SingularKernelError)) throw e;
    return { inverse: null, failure: e.detail };
  }
  const r: BlockFactorResult = { inverse: Float32Array.from(invertLowerTriangular(a, b)), failure: null, minRatio };
  if (job.withFactor) {
    r.factor = new Float32Array(b * b);
    for (let i = 0; i < b; i++) for (let c = 0; c <= i; c++) r.factor[i * b + c] = a[i * b + c];
  }
  return r;
}


/** Blocks smaller than this are factored in the calling thread (a message costs more than the work). */
const MIN_WORKER_BLOCK = 64;

/** The worker module: the sibling .ts from the sources, dist/block-factor-worker.js from the build. */
const blockWorkerUrl = (): URL => new URL(import.meta.url.endsWith(".ts") ? "./block-factor-worker.ts" : "./block-factor-worker.js", import.meta.url);

/** Factors batches of blocks on up to `size` workers; idle workers do not keep the process alive. */
export class BlockFactorPool {
  private readonly group: WorkerGroup<BlockFactorJob, WorkerReply & BlockFactorResult>;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`BlockFactorPool: size must be an integer ≥ 0, got ${size}`);
    this.group = new WorkerGroup(blockWorkerUrl, "block-factor worker", size);
  }

  /** Why the pool runs in the calling thread, when workers could not start or failed. */
  get fallbackReason(): string | null {
    return this.group.fallbackReason;
  }

  /** Starts the workers now (they load while the caller waits on something else); never throws. */
  start(): void {
    void this.group.ensure();
  }

  /** Calls of factorAll and factorOne run one after another (a worker takes one job at a time). */
  private tail: Promise<unknown> = Promise.resolve();

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const r = this.tail.then(f, f);
    this.tail = r.catch(() => undefined);
    return r;
  }

  /** factorBlockInverse of every job, in order. */
  factorAll(jobs: readonly BlockFactorJob[]): Promise<BlockFactorResult[]> {
    return this.serial(() => this.runAll(jobs));
  }

  private async runAll(jobs: readonly BlockFactorJob[]): Promise<BlockFactorResult[]> {
    if (jobs.length < 2 || jobs[0].b < MIN_WORKER_BLOCK) return jobs.map(factorBlockInverse);
    const workers = await this.group.ensure();
    if (workers.length === 0) return jobs.map(factorBlockInverse);
    const results: BlockFactorResult[] = new Array(jobs.length);
    let next = 0;
    // Each worker takes the next job when it is done with one.
    const drain = async (w: (typeof workers)[number]): Promise<void> => {
      while (next < jobs.length) {
        const at = next++;
        const r = await w.post(jobs[at]);
        results[at] = { inverse: r.inverse, failure: r.failure, factor: r.factor, minRatio: r.minRatio };
      }
    };
    try {
      await Promise.all(workers.slice(0, jobs.length).map(drain));
    } catch (e) {
      // A worker that cannot load is not fatal: factor here from now on.
      await this.group.fail(e);
      return jobs.map(factorBlockInverse);
    }
    return results;
  }

  /**
   * factorBlockInverse of one job on a worker, so that the caller's thread can
   * go on meanwhile (the host Cholesky's look-ahead); here when no worker can.
   */
  factorOne(job: BlockFactorJob): Promise<BlockFactorResult> {
    return this.serial(() => this.runOne(job));
  }

  private async runOne(job: BlockFactorJob): Promise<BlockFactorResult> {
    if (job.b < MIN_WORKER_BLOCK) return factorBlockInverse(job);
    const workers = await this.group.ensure();
    if (workers.length === 0) return factorBlockInverse(job);
    try {
      const r = await workers[0].post(job);
      return { inverse: r.inverse, failure: r.failure, factor: r.factor, minRatio: r.minRatio };
    } catch (e) {
      await this.group.fail(e);
      return factorBlockInverse(job);
    }
  }

  async close(): Promise<void> {
    await this.group.close();
  }
}

let shared: Promise<BlockFactorPool> | null = null;

/** The process's pool: one worker per core, at most 8 (a λ grid rarely has more shifts). */
export function sharedBlockFactorPool(): Promise<BlockFactorPool> {
  shared ??= logicalCores().then((n) => new BlockFactorPool(Math.max(0, Math.min(8, n))));
  return shared;
}
