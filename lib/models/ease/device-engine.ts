/**
 * EASE on the device: X, the item Gram G = XᵀX, P = (G + λI)⁻¹ for the whole
 * λ grid, and the scores stay on the backend's device.
 *
 * Fit: X goes up once; one run gives G (and the identity the inverses solve
 * against) with G's diagonal for the host; DeviceSpdBatch factors G + λI for
 * every λ at once and solves against I in one more run (P as [λ, items, items]).
 * Scoring forms B = −P/diag(P) with a zero diagonal inside the scoring graph
 * and multiplies the context rows by it; ranking appends top-k
 * (lib/ranking/top-k-graph.ts), so only k indices per user come back.
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import type { RankedBlock, RankRequest } from "../../ranking/ranked-block.ts";
import { SingularKernelError } from "../../linalg/cholesky.ts";
import { DeviceSpdBatch } from "../../linalg/device-cholesky.ts";
import { type Backend, type DeviceTensor, disposeDeviceFeeds, type TensorArg } from "../../onnx/backend.ts";
import { attr, GraphBuilder, type GraphSpec, identityLike, sharedGraphSpec, type Value } from "../../onnx/builder.ts";
import { appendRanking, rankedBlock, rankingFeeds } from "../../ranking/top-k-graph.ts";
import { type FitScratch, ScratchSlot, SharedResource } from "../scratch.ts";
import { timed, type Timings } from "../timings.ts";

/** Device memory one batch of λ may take (bytes): about 4 items² floats per λ. */
export const EASE_DEVICE_BATCH_BYTES = 8 * 2 ** 30;

/** X [n, items] → G = XᵀX and I (device), GD = diag(G) (host). */
function itemGramGraph(): Uint8Array {
  const g = new GraphBuilder("ease_item_gram");
  const x = g.input("X", "float32", ["n", "items"]);
  const gram = g.op("MatMul", [g.op("Transpose", [x], { perm: attr.ints([1, 0]) }), x]);
  const eye = identityLike(g, gram);
  g.output(gram, "G", "float32", ["items", "items"]);
  g.output(eye, "I", "float32", ["items", "items"]);
  g.output(g.op("ReduceSum", [g.op("Mul", [gram, eye]), g.constInt64([1])], { keepdims: attr.int(0) }), "GD", "float32", ["items"]);
  return g.toBytes();
}

type Context = "fitted" | "rows";

/** Scores = context rows · B with B = −P/diag(P), zero diagonal, for the λ at SEL. */
function scoreNodes(g: GraphBuilder, context: Context): { scores: Value; ctx: Value } {
  const p = g.input("P", "float32", ["L", "items", "items"]);
  const sel = g.input("SEL", "int64", []);
  const inv = g.op("Gather", [p, sel]);
  const eye = identityLike(g, inv);
  const diag = g.op("ReduceSum", [g.op("Mul", [inv, eye]), g.constInt64([0])], { keepdims: attr.int(1) });
  const b = g.op("Mul", [g.op("Div", [g.op("Neg", [inv]), diag]), g.op("Sub", [g.constFloat(1), eye])]);
  let ctx: Value;
  if (context === "fitted") {
    const x = g.input("X", "float32", ["n", "items"]);
    ctx = g.op("Slice", [x, g.input("START", "int64", [1]), g.input("END", "int64", [1]), g.constInt64([0])]);
  } else {
    ctx = g.input("CTX", "float32", ["rows", "items"]);
  }
  return { scores: g.op("MatMul", [ctx, b]), ctx };
}


function scoreSpec(context: Context): GraphSpec {
  return sharedGraphSpec(`ease_scores_${context}`, () => {
    const g = new GraphBuilder(`ease_scores_${context}`);
    g.output(scoreNodes(g, context).scores, "S", "float32", ["rows", "items"]);
    return g.toBytes();
  });
}

function rankSpec(context: Context, k: number): GraphSpec {
  return sharedGraphSpec(`ease_rank_${context}_k${k}`, () => {
    const g = new GraphBuilder(`ease_rank_${context}_k${k}`);
    const { scores, ctx } = scoreNodes(g, context);
    appendRanking(g, scores, ctx, k);
    return g.toBytes();
  });
}

interface DeviceGram {
  train: InteractionMatrix;
  x: DeviceTensor;
  g: DeviceTensor;
  identity: DeviceTensor;
  diagonal: Float64Array;
  dispose(): void;
}

interface DeviceInverses {
  lambdas: readonly number[];
  p: DeviceTensor;
  residuals: readonly number[];
  failures: readonly (SingularKernelError | null)[];
  dispose(): void;
}

const GRAM_SLOT = new ScratchSlot<SharedResource<DeviceGram>>("ease:device-gram");
const INVERSE_SLOT = new ScratchSlot<SharedResource<DeviceInverses>>("ease:device-inverses");

export interface DeviceEaseOptions {
  backend: Backend;
  train: InteractionMatrix;
  lambda: number;
  /** Other λ fitted in the same batch (the grid). */
  lambdaBatch?: readonly number[];
  scratch?: FitScratch;
  maxResidual: number;
  timings?: Timings;
}

export class DeviceEASE {
  private constructor(
    private readonly backend: Backend,
    private gram: SharedResource<DeviceGram> | null,
    private inverses: SharedResource<DeviceInverses> | null,
    private readonly index: number,
    private readonly timings?: Timings,
  ) {}

  static async fit(o: DeviceEaseOptions): Promise<DeviceEASE> {
    const gram = await deviceGram(o);
    let inverses: SharedResource<DeviceInverses>;
    try {
      inverses = await deviceInverses(o, gram.value);
    } catch (e) {
      gram.release();
      throw e;
    }
    const index = inverses.value.lambdas.indexOf(o.lambda);
    const failure = inverses.value.failures[index];
    const residual = inverses.value.residuals[index];
    const error = failure ?? (residual <= o.maxResidual ? null : new SingularKernelError({ kind: "residual", residual, maxResidual: o.maxResidual }));
    if (error) {
      inverses.release();
      gram.release();
      throw error;
    }
    return new DeviceEASE(o.backend, gram, inverses, index, o.timings);
  }

  private parts(): { gram: DeviceGram; inverses: DeviceInverses } {
    if (!this.gram || !this.inverses) throw new Error("EASE (device): the model was disposed");
    return { gram: this.gram.value, inverses: this.inverses.value };
  }

  private async feeds(context: InteractionMatrix, start: number, end: number): Promise<{ kind: Context; feeds: Record<string, TensorArg | DeviceTensor> }> {
    const { gram, inverses } = this.parts();
    const items = gram.g.dims[0];
    if (context.numItems !== items) throw new Error(`EASE: context has ${context.numItems} items, model ${items}`);
    const feeds: Record<string, TensorArg | DeviceTensor> = { P: inverses.p, SEL: { data: new BigInt64Array([BigInt(this.index)]), dims: [] } };
    if (context === gram.train) {
      feeds.X = gram.x;
      feeds.START = { data: new BigInt64Array([BigInt(start)]), dims: [1] };
      feeds.END = { data: new BigInt64Array([BigInt(end)]), dims: [1] };
      return { kind: "fitted", feeds };
    }
    feeds.CTX = await this.backend.uploadSparse(context.flatEntries(start, end));
    return { kind: "rows", feeds };
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const { kind, feeds } = await this.feeds(context, start, end);
    try {
      const session = await this.backend.session(scoreSpec(kind));
      const { S } = await timed(this.timings, "score", () => this.backend.runDevice(session, feeds));
      out.set((S as TensorArg).data as Float32Array);
    } finally {
      disposeDeviceFeeds(feeds, "CTX");
    }
  }

  async rankBlock(r: RankRequest): Promise<RankedBlock> {
    const { kind, feeds } = await this.feeds(r.context, r.start, r.end);
    try {
      const session = await this.backend.session(rankSpec(kind, r.k));
      const out = await timed(this.timings, "rank", () => this.backend.runDevice(session, { ...feeds, ...rankingFeeds(r) }));
      return rankedBlock(out);
    } finally {
      disposeDeviceFeeds(feeds, "CTX");
    }
  }

  dispose(): void {
    this.inverses?.release();
    this.gram?.release();
    this.inverses = null;
    this.gram = null;
  }
}

async function deviceGram(o: DeviceEaseOptions): Promise<SharedResource<DeviceGram>> {
  const cached = o.scratch?.get(GRAM_SLOT, "");
  if (cached && cached.value.train === o.train) return cached.retain();
  const n = o.train.numUsers;
  const items = o.train.numItems;
  const x = await o.backend.uploadSparse(o.train.flatEntries(0, n));
  const session = await o.backend.session(sharedGraphSpec("ease_item_gram", itemGramGraph), { deviceOutputs: ["G", "I"] });
  const out = await timed(o.timings, "gram", () => o.backend.runDevice(session, { X: x }));
  const g = out.G as DeviceTensor;
  const identity = out.I as DeviceTensor;
  const gram = new SharedResource<DeviceGram>({
    train: o.train, x, g, identity,
    diagonal: Float64Array.from((out.GD as TensorArg).data as Float32Array),
    dispose: () => {
      x.dispose();
      g.dispose();
      identity.dispose();
    },
  });
  if (o.scratch) {
    cached?.release();
    o.scratch.set(GRAM_SLOT, "", gram.retain());
  }
  return gram;
}

async function deviceInverses(o: DeviceEaseOptions, gram: DeviceGram): Promise<SharedResource<DeviceInverses>> {
  const items = gram.g.dims[0];
  const all = [...new Set([...(o.lambdaBatch ?? []), o.lambda])];
  const size = Math.max(1, Math.floor(EASE_DEVICE_BATCH_BYTES / (16 * items * items)));
  const first = Math.floor(all.indexOf(o.lambda) / size) * size;
  const lambdas = all.slice(first, first + size);
  const key = lambdas.join(",");
  const cached = o.scratch?.get(INVERSE_SLOT, key);
  if (cached && cached.value.lambdas.includes(o.lambda)) return cached.retain();
  for (const l of lambdas) if (!(l > 0) || !Number.isFinite(l)) throw new Error(`EASE: λ must be finite and > 0, got ${l}`);
  const batch = await timed(o.timings, "factor", () => DeviceSpdBatch.factor(o.backend, gram.g, items, gram.diagonal, lambdas, { timings: o.timings }));
  let solved: { alpha: DeviceTensor; residuals: number[] };
  try {
    const columns = Array.from({ length: Math.min(8, items) }, (_, t) => Math.floor(((t + 0.5) * items) / Math.min(8, items)));
    solved = await timed(o.timings, "inverse", () => batch.solve(gram.identity, items, { columns }));
  } finally {
    batch.dispose();
  }
  const p = solved.alpha;
  const inverses = new SharedResource<DeviceInverses>({ lambdas, p, residuals: solved.residuals, failures: batch.failures, dispose: () => p.dispose() });
  if (o.scratch) {
    cached?.release();
    o.scratch.set(INVERSE_SLOT, key, inverses.retain());
  }
  return inverses;
}
