/**
 * ∞-AE on the device: X_S, K_SS and the duals of a whole λ grid stay on the
 * backend's device from the fit to the ranking (docs/onnx-runtime.md#device-resident-tensors).
 *
 * Fit: X_S goes up once; one run gives K_SS (exact diagonal) and its diagonal;
 * DeviceSpdBatch factors K_SS + c·I for every λ of the grid at once (2⌈n/b⌉ runs
 * moving b × b blocks) and solves them in one more run, with each λ's residual
 * checked on sampled columns. The grid's candidates share this through the
 * fit scratch, so a 6-λ grid costs about 2⌈n/b⌉ + 2 runs before evaluation.
 * Scoring and ranking pick their λ from the [λ, n, items] duals by index.
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import type { RankedBlock, RankRequest } from "../../ranking/ranked-block.ts";
import { DeviceSpdBatch } from "../../linalg/device-cholesky.ts";
import { SingularKernelError } from "../../linalg/cholesky.ts";
import { ntkGraph } from "../../ntk/gram-graph.ts";
import { type Backend, type DeviceTensor, disposeDeviceFeeds, type TensorArg } from "../../onnx/backend.ts";
import { type FitScratch, ScratchSlot, SharedResource } from "../scratch.ts";
import { timed, type Timings } from "../timings.ts";
import { rankedBlock, rankingFeeds } from "../../ranking/top-k-graph.ts";
import { rankGraphSpec, type ScoreSource, scoreGraphSpec, selectDualsSpec } from "./device-graphs.ts";

/** Device memory one batch of λ may take (bytes): about 3 n² + n·items floats per λ. */
export const DEVICE_BATCH_BYTES = 8 * 2 ** 30;

/** Sampled columns of the residual check. */
const RESIDUAL_COLUMNS = 8;

interface DeviceKernel {
  train: InteractionMatrix;
  support: Int32Array | null;
  n: number;
  items: number;
  x: DeviceTensor;
  k: DeviceTensor;
  diagonal: Float64Array;
  trace: number;
  dispose(): void;
}

interface DeviceDuals {
  lambdas: readonly number[];
  shifts: readonly number[];
  alpha: DeviceTensor;
  residuals: readonly number[];
  failures: readonly (SingularKernelError | null)[];
  dispose(): void;
}

const KERNEL_SLOT = new ScratchSlot<SharedResource<DeviceKernel>>("inf-ae:device-kernel");
const DUALS_SLOT = new ScratchSlot<SharedResource<DeviceDuals>>("inf-ae:device-duals");

export interface DeviceFitOptions {
  backend: Backend;
  train: InteractionMatrix;
  /** Support rows (sorted), or null for every training row. */
  support: Int32Array | null;
  depth: number;
  lambda: number;
  /** Other λ to fit in the same batch (the grid); `lambda` is added when missing. */
  lambdaBatch?: readonly number[];
  scratch?: FitScratch;
  /** Scratch key of the support choice (depth, support budget, seed). */
  key: string;
  maxResidual: number;
  timings?: Timings;
}

/** One λ's fitted ∞-AE on the device. */
export class DeviceInfiniteAE {
  private constructor(
    private readonly backend: Backend,
    private readonly depth: number,
    private kernel: SharedResource<DeviceKernel> | null,
    private duals: SharedResource<DeviceDuals> | null,
    private readonly index: number,
    readonly shift: number,
    private readonly timings?: Timings,
  ) {}

  static async fit(o: DeviceFitOptions): Promise<DeviceInfiniteAE> {
    const kernel = await deviceKernel(o);
    let duals: SharedResource<DeviceDuals>;
    try {
      duals = await deviceDuals(o, kernel.value);
    } catch (e) {
      kernel.release();
      throw e;
    }
    const index = duals.value.lambdas.indexOf(o.lambda);
    const fail = (e: Error): never => {
      duals.release();
      kernel.release();
      throw e;
    };
    const failure = duals.value.failures[index];
    if (failure) fail(failure);
    const residual = duals.value.residuals[index];
    if (!(residual <= o.maxResidual)) fail(new SingularKernelError({ kind: "residual", residual, maxResidual: o.maxResidual }));
    return new DeviceInfiniteAE(o.backend, o.depth, kernel, duals, index, duals.value.shifts[index], o.timings);
  }

  private parts(): { kernel: DeviceKernel; duals: DeviceDuals } {
    if (!this.kernel || !this.duals) throw new Error("InfiniteAE (device): the model was disposed");
    return { kernel: this.kernel.value, duals: this.duals.value };
  }

  /** The duals α (support × items) on the host, e.g. for an artifact. */
  async hostDuals(): Promise<Float32Array> {
    const { duals } = this.parts();
    const session = await this.backend.session(selectDualsSpec());
    const { Y } = await this.backend.runDevice(session, { A: duals.alpha, SEL: { data: new BigInt64Array([BigInt(this.index)]), dims: [] } });
    return (Y as TensorArg).data as Float32Array;
  }

  private source(context: InteractionMatrix): ScoreSource {
    const { kernel } = this.parts();
    if (context.numItems !== kernel.items) throw new Error(`InfiniteAE: context has ${context.numItems} items, model ${kernel.items}`);
    return context === kernel.train && kernel.support === null ? "fitted" : "gram";
  }

  private async feeds(source: ScoreSource, context: InteractionMatrix, start: number, end: number): Promise<Record<string, TensorArg | DeviceTensor>> {
    const { kernel, duals } = this.parts();
    const feeds: Record<string, TensorArg | DeviceTensor> = { A: duals.alpha, SEL: { data: new BigInt64Array([BigInt(this.index)]), dims: [] } };
    if (source === "fitted") {
      feeds.X = kernel.x;
      feeds.C = { data: new Float32Array([this.shift]), dims: [] };
      feeds.START = { data: new BigInt64Array([BigInt(start)]), dims: [1] };
      feeds.END = { data: new BigInt64Array([BigInt(end)]), dims: [1] };
    } else {
      feeds.CTX = await this.backend.uploadSparse(context.flatEntries(start, end));
      feeds.XS = kernel.x;
    }
    return feeds;
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const source = this.source(context);
    const session = await this.backend.session(scoreGraphSpec(source, this.depth));
    const feeds = await this.feeds(source, context, start, end);
    try {
      const { S } = await timed(this.timings, "score", () => this.backend.runDevice(session, feeds));
      out.set((S as TensorArg).data as Float32Array);
    } finally {
      disposeDeviceFeeds(feeds, "CTX");
    }
  }

  async rankBlock(r: RankRequest): Promise<RankedBlock> {
    const source = this.source(r.context);
    const feeds = await this.feeds(source, r.context, r.start, r.end);
    try {
      return await rankInGraph(this.backend, source, this.depth, feeds, r, this.timings);
    } finally {
      disposeDeviceFeeds(feeds, "CTX");
    }
  }

  dispose(): void {
    this.duals?.release();
    this.kernel?.release();
    this.duals = null;
    this.kernel = null;
  }
}

/** One ranking run of the ∞-AE scoring graph of `source` with its score inputs in `feeds`. */
async function rankInGraph(
  backend: Backend, source: ScoreSource, depth: number, feeds: Record<string, TensorArg | DeviceTensor>, r: RankRequest, timings?: Timings,
): Promise<RankedBlock> {
  const session = await backend.session(rankGraphSpec(source, depth, r.k));
  const out = await timed(timings, "rank", () => backend.runDevice(session, { ...feeds, ...rankingFeeds(r) }));
  return rankedBlock(out);
}

/** X_S on the device and K_SS with its diagonal: one upload and one run, shared through the scratch. */
async function deviceKernel(o: DeviceFitOptions): Promise<SharedResource<DeviceKernel>> {
  const cached = o.scratch?.get(KERNEL_SLOT, o.key);
  if (cached && cached.value.train === o.train) return cached.retain();
  const n = o.support ? o.support.length : o.train.numUsers;
  const items = o.train.numItems;
  const x = await o.backend.uploadSparse(o.support ? o.train.flatEntriesOf(o.support) : o.train.flatEntries(0, n));
  const session = await o.backend.session(ntkGraph("self_gram", o.depth), { deviceOutputs: ["K"] });
  const out = await timed(o.timings, "gram", () => o.backend.runDevice(session, { X: x }));
  const diagonal = Float64Array.from((out.KD as TensorArg).data as Float32Array);
  let trace = 0;
  for (const v of diagonal) trace += v;
  const k = out.K as DeviceTensor;
  const kernel = new SharedResource<DeviceKernel>({
    train: o.train, support: o.support, n, items, x, k, diagonal, trace,
    dispose: () => {
      x.dispose();
      k.dispose();
    },
  });
  if (o.scratch) {
    o.scratch.get(KERNEL_SLOT, o.key)?.release();
    o.scratch.set(KERNEL_SLOT, o.key, kernel.retain());
  }
  return kernel;
}

/** The λ of the batch that contains `o.lambda`, within the device memory budget. */
function batchLambdas(o: DeviceFitOptions, n: number, items: number): number[] {
  const all = [...new Set([...(o.lambdaBatch ?? []), o.lambda])];
  const perLambda = 4 * (3 * n * n + n * items);
  const size = Math.max(1, Math.floor(DEVICE_BATCH_BYTES / perLambda));
  const at = all.indexOf(o.lambda);
  const first = Math.floor(at / size) * size;
  return all.slice(first, first + size);
}

async function deviceDuals(o: DeviceFitOptions, kernel: DeviceKernel): Promise<SharedResource<DeviceDuals>> {
  const lambdas = batchLambdas(o, kernel.n, kernel.items);
  const key = `${o.key}|${lambdas.join(",")}`;
  const cached = o.scratch?.get(DUALS_SLOT, key);
  if (cached && cached.value.lambdas.includes(o.lambda)) return cached.retain();
  for (const l of lambdas) if (!(l >= 0) || !Number.isFinite(l)) throw new Error(`InfiniteAE: λ must be finite and ≥ 0, got ${l}`);
  const shifts = lambdas.map((l) => (l * kernel.trace) / kernel.n);
  const batch = await timed(o.timings, "factor", () => DeviceSpdBatch.factor(o.backend, kernel.k, kernel.n, kernel.diagonal, shifts, { timings: o.timings }));
  let solved: { alpha: DeviceTensor; residuals: number[] };
  try {
    solved = await timed(o.timings, "solve", () => batch.solve(kernel.x, kernel.items, { columns: residualColumns(o.train) }));
  } finally {
    batch.dispose();
  }
  const alpha = solved.alpha;
  const duals = new SharedResource<DeviceDuals>({
    lambdas, shifts, alpha, residuals: solved.residuals, failures: batch.failures,
    dispose: () => alpha.dispose(),
  });
  if (o.scratch) {
    o.scratch.get(DUALS_SLOT, key)?.release();
    o.scratch.set(DUALS_SLOT, key, duals.retain());
  }
  return duals;
}

/** Evenly spaced items with interactions: where the residual check looks. */
function residualColumns(train: InteractionMatrix): number[] {
  const counts = train.itemCounts();
  const used: number[] = [];
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) used.push(i);
  const s = Math.min(RESIDUAL_COLUMNS, used.length);
  return Array.from({ length: s }, (_, t) => used[Math.floor(((t + 0.5) * used.length) / s)]);
}
