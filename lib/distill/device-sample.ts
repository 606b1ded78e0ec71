/**
 * DISTILL-CF's multi-step Gumbel sampling as ONNX graphs, so that on a GPU the
 * γ·μ·I noise never leaves the device (ML-1M: 370 M values per step). The maths
 * is fast-sample.ts's (w = exp(L/τ − rowmax), E_k = exp(G_k/τ), Z_k = ⟨w, E_k⟩,
 * S = w ⊙ Σ_k E_k/Z_k, X̂ = hardtanh(S); backward
 * dL = (1/τ)·[dS ⊙ S − w ⊙ Σ_k (c_k/Z_k)·E_k], c_k = ⟨dS ⊙ w, E_k⟩/Z_k), with
 * device-noise.ts's stream, computed by the graph itself from the entry index
 * and two int32 keys per sample, and drawn again in the backward (no store).
 *
 * Graphs, run per chunk of samples so no tensor exceeds `chunkEntries` values
 * (WebGPU's storage-buffer limit is often 128 MiB):
 *   forward  (L, K0, K1, IDX, INVTAU, ACC) → ACC + Σ_k E_k/Z_k, Z   (device)
 *   support  (L, ACC, INVTAU) → S (device), XHAT (host)
 *   backward (L, K0, K1, IDX, INVTAU, V, Z, ACC) → ACC + Σ_k (⟨V, E_k⟩/Z_k²)·E_k
 *   gradient (L, S, DX, ACC, INVTAU) → dL (host)
 * with V = dS ⊙ w. Everything is float32 on the device; the host sees X̂ and
 * dL (μ × I each) and uploads L and dX̂.
 */
import { attr, GraphBuilder, type GraphSpec, sharedGraphSpec, type Value } from "../onnx/builder.ts";
import type { Backend, DeviceTensor, TensorArg } from "../onnx/backend.ts";
import { deviceStepKeys, INDEX_MULTIPLIER, MIX_M1, MIX_M2, U_MAX, U_MIN } from "./device-noise.ts";
import type { FastSampleConfig } from "./fast-sample.ts";

/** Default cap on one chunk's γc·μ·I values: 2^25 float32 = 128 MiB. */
export const DEFAULT_CHUNK_ENTRIES = 2 ** 25;

const OPSET = 17;

interface Common {
  g: GraphBuilder;
  l: Value;
  invTau: Value;
  /** w = exp(L/τ − rowmax(L/τ)), μ × I. */
  w: Value;
}

function common(name: string): Common {
  const g = new GraphBuilder(name);
  const l = g.input("L", "float32", ["mu", "items"]);
  const invTau = g.input("INVTAU", "float32", [1]);
  const ls = g.op("Mul", [l, invTau]);
  const max = g.op("ReduceMax", [ls], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const w = g.op("Exp", [g.op("Sub", [ls, max])]);
  return { g, l, invTau, w };
}

/** E (γc × μ × I) from the keys and entry indices: device-noise.ts's hash, then (−log u)^(−1/τ). */
function noise(c: Common): Value {
  const { g, invTau } = c;
  const k0 = g.input("K0", "int32", ["chunk", 1, 1]);
  const k1 = g.input("K1", "int32", ["chunk", 1, 1]);
  const idx = g.input("IDX", "int32", ["mu", "items"]);
  const i32 = (v: number): Value => g.constInt32(v);
  const add = (a: Value, b: Value): Value => g.op("Add", [a, b]);
  const mul = (a: Value, b: Value): Value => g.op("Mul", [a, b]);
  const div = (a: Value, b: Value): Value => g.op("Div", [a, b]);
  const P15 = i32(2 ** 15);
  const P16 = i32(2 ** 16);
  const M1 = i32(MIX_M1);
  const M2 = i32(MIX_M2);
  const mix = (x: Value): Value => {
    x = add(x, div(x, P16));
    x = mul(x, M1);
    x = add(x, div(x, P15));
    x = mul(x, M2);
    return add(x, div(x, P16));
  };
  let x = add(mul(idx, i32(INDEX_MULTIPLIER)), k0);
  x = mix(x);
  x = mix(add(x, k1));
  const f = g.op("Cast", [x], { to: attr.int(1) });
  const u = g.op("Clip", [g.op("Mul", [g.op("Add", [f, g.constFloat(2 ** 31)]), g.constFloat(2 ** -32)]), g.constFloat(U_MIN), g.constFloat(U_MAX)]);
  const logExp = g.op("Log", [g.op("Neg", [g.op("Log", [u])])]);
  return g.op("Exp", [g.op("Mul", [g.op("Neg", [invTau]), logExp])]);
}

/** With `store`, E is an output too (kept on the device for the backward). */
function forwardGraph(store: boolean): Uint8Array {
  const c = common(store ? "distill_dsample_fwd_store" : "distill_dsample_fwd");
  const { g, w } = c;
  const acc = g.input("ACC", "float32", ["mu", "items"]);
  const e = noise(c);
  if (store) g.output(g.op("Identity", [e]), "E", "float32", ["chunk", "mu", "items"]);
  const z = g.op("ReduceSum", [g.op("Mul", [e, w]), g.constInt64([2])], { keepdims: attr.int(1) });
  const part = g.op("ReduceSum", [g.op("Div", [e, z]), g.constInt64([0])], { keepdims: attr.int(0) });
  g.output(g.op("Add", [acc, part]), "ACCOUT", "float32", ["mu", "items"]);
  g.output(z, "Z", "float32", ["chunk", "mu", 1]);
  return g.toBytes({ opset: OPSET });
}

function supportGraph(): Uint8Array {
  const c = common("distill_dsample_support");
  const { g, w } = c;
  const acc = g.input("ACC", "float32", ["mu", "items"]);
  const s = g.op("Mul", [w, acc]);
  g.output(s, "S", "float32", ["mu", "items"]);
  const xhat = g.op("Clip", [s, g.constFloat(-1), g.constFloat(1)]);
  // X̂ twice: XHAT stays on the device for the step's graphs, XHOST comes to the host.
  g.output(xhat, "XHAT", "float32", ["mu", "items"]);
  g.output(g.op("Identity", [xhat]), "XHOST", "float32", ["mu", "items"]);
  return g.toBytes({ opset: OPSET });
}

/** With `stored`, E is an input (the forward's) instead of drawn again. */
function backwardGraph(stored: boolean): Uint8Array {
  const c = common(stored ? "distill_dsample_bwd_stored" : "distill_dsample_bwd");
  const { g } = c;
  const v = g.input("V", "float32", ["mu", "items"]);
  const z = g.input("Z", "float32", ["chunk", "mu", 1]);
  const acc = g.input("ACC", "float32", ["mu", "items"]);
  const e = stored ? g.input("E", "float32", ["chunk", "mu", "items"]) : noise(c);
  const dot = g.op("ReduceSum", [g.op("Mul", [e, v]), g.constInt64([2])], { keepdims: attr.int(1) });
  const coef = g.op("Div", [dot, g.op("Mul", [z, z])]);
  const part = g.op("ReduceSum", [g.op("Mul", [e, coef]), g.constInt64([0])], { keepdims: attr.int(0) });
  g.output(g.op("Add", [acc, part]), "ACCOUT", "float32", ["mu", "items"]);
  return g.toBytes({ opset: OPSET });
}

/** dS = dX̂ where −1 ≤ S ≤ 1 (hardtanh passes the gradient at ±1, as JAX does), else 0. */
function maskedGradient(g: GraphBuilder, s: Value, dx: Value): Value {
  const inside = g.op("LessOrEqual", [g.op("Abs", [s]), g.constFloat(1)]);
  return g.op("Where", [inside, dx, g.constFloat(0)]);
}

/** V = dS ⊙ w, the backward's per-entry weight. */
function weightGraph(): Uint8Array {
  const c = common("distill_dsample_weight");
  const { g, w } = c;
  const s = g.input("S", "float32", ["mu", "items"]);
  const dx = g.input("DX", "float32", ["mu", "items"]);
  g.output(g.op("Mul", [maskedGradient(g, s, dx), w]), "V", "float32", ["mu", "items"]);
  return g.toBytes({ opset: OPSET });
}

function gradientGraph(): Uint8Array {
  const c = common("distill_dsample_grad");
  const { g, w, invTau } = c;
  const s = g.input("S", "float32", ["mu", "items"]);
  const dx = g.input("DX", "float32", ["mu", "items"]);
  const acc = g.input("ACC", "float32", ["mu", "items"]);
  const ds = maskedGradient(g, s, dx);
  const inner = g.op("Sub", [g.op("Mul", [ds, s]), g.op("Mul", [w, acc])]);
  g.output(g.op("Mul", [inner, invTau]), "DL", "float32", ["mu", "items"]);
  return g.toBytes({ opset: OPSET });
}

const specs = {
  forward: (store: boolean): GraphSpec => sharedGraphSpec(store ? "distill_dsample_fwd_store" : "distill_dsample_fwd", () => forwardGraph(store)),
  support: (): GraphSpec => sharedGraphSpec("distill_dsample_support", supportGraph),
  weight: (): GraphSpec => sharedGraphSpec("distill_dsample_weight", weightGraph),
  backward: (stored: boolean): GraphSpec => sharedGraphSpec(stored ? "distill_dsample_bwd_stored" : "distill_dsample_bwd", () => backwardGraph(stored)),
  gradient: (): GraphSpec => sharedGraphSpec("distill_dsample_grad", gradientGraph),
};

/** Options of DeviceSampler. */
export interface DeviceSamplerOptions {
  /** Most values (γc·μ·I) in one chunk's noise tensor (default DEFAULT_CHUNK_ENTRIES). */
  chunkEntries?: number;
  /**
   * Keep the forward's E_k on the device for the backward (which then reads
   * them: 6 passes over each chunk instead of 33) when they need at most this
   * many bytes (γ·μ·I·4; ML-1M: 1.48 GB); else they are drawn again. Default 0 (draw again).
   */
  storeNoiseBytes?: number;
}

/** A forward's X̂: on the host (float64 copy) and on the device (float32, owned by the sampler until the next forward). */
export interface DeviceSample {
  support: Float64Array;
  /** Σ X̂, summed in order while copying (the cardinality penalty's sum). */
  total: number;
  device: DeviceTensor;
}

interface Forwarded {
  mu: number;
  items: number;
  cfg: FastSampleConfig;
  logits: DeviceTensor;
  s: DeviceTensor;
  xhat: DeviceTensor;
  z: DeviceTensor[];
  /** The chunks' E_k when stored, else empty. */
  e: DeviceTensor[];
  k0: Int32Array;
  k1: Int32Array;
}

function isDevice(t: TensorArg | DeviceTensor): t is DeviceTensor {
  return "dispose" in t;
}

/**
 * Forward and backward of the sampling on a backend's device. The forward's
 * state (L, S and the Z_k, on the device) is kept for one backward; one
 * instance per run.
 */
export class DeviceSampler {
  private readonly chunkEntries: number;
  private readonly storeNoiseBytes: number;
  private index: { mu: number; items: number; t: DeviceTensor } | null = null;
  private zero: { mu: number; items: number; t: DeviceTensor } | null = null;
  private last: Forwarded | null = null;

  constructor(readonly backend: Backend, options: DeviceSamplerOptions = {}) {
    this.chunkEntries = options.chunkEntries ?? DEFAULT_CHUNK_ENTRIES;
    this.storeNoiseBytes = options.storeNoiseBytes ?? 0;
    if (!(this.storeNoiseBytes >= 0)) throw new Error(`DeviceSampler: storeNoiseBytes must be ≥ 0, got ${options.storeNoiseBytes}`);
    if (!Number.isInteger(this.chunkEntries) || this.chunkEntries < 1) throw new Error(`DeviceSampler: chunkEntries must be an integer ≥ 1, got ${options.chunkEntries}`);
  }

  /** Whether a forward of this size keeps its noise on the device. */
  storesNoise(mu: number, items: number, gamma: number): boolean {
    return 4 * gamma * mu * items <= this.storeNoiseBytes;
  }

  /** Samples per chunk for μ × I. */
  chunkSamples(mu: number, items: number, gamma: number): number {
    return Math.max(1, Math.min(gamma, Math.floor(this.chunkEntries / (mu * items))));
  }

  private async indices(mu: number, items: number): Promise<DeviceTensor> {
    if (this.index && this.index.mu === mu && this.index.items === items) return this.index.t;
    this.index?.t.dispose();
    const data = new Int32Array(mu * items);
    for (let i = 0; i < data.length; i++) data[i] = i;
    this.index = { mu, items, t: await this.backend.upload({ data, dims: [mu, items] }) };
    return this.index.t;
  }

  /** The first chunk's running sum: zeros kept on the device (runs never write their inputs). */
  private async zeros(mu: number, items: number): Promise<DeviceTensor> {
    if (this.zero && this.zero.mu === mu && this.zero.items === items) return this.zero.t;
    this.zero?.t.dispose();
    this.zero = { mu, items, t: await this.backend.upload({ data: new Float32Array(mu * items), dims: [mu, items] }) };
    return this.zero.t;
  }

  /** Frees a running sum unless it is the kept zeros. */
  private drop(acc: DeviceTensor): void {
    if (acc !== this.zero?.t) acc.dispose();
  }

  /** X̂ (float64 copy of the device's float32 values) for the logits and the noise of `cfg.step`. */
  async forward(logits: Float64Array, mu: number, items: number, cfg: FastSampleConfig): Promise<Float64Array> {
    return (await this.forwardDevice(logits, mu, items, cfg)).support;
  }

  /** X̂ on the host and on the device. */
  async forwardDevice(logits: Float64Array, mu: number, items: number, cfg: FastSampleConfig): Promise<DeviceSample> {
    if (logits.length !== mu * items) throw new Error(`DeviceSampler: logits have ${logits.length} values, expected ${mu}×${items}`);
    if (!Number.isInteger(cfg.gamma) || cfg.gamma < 1) throw new Error(`DeviceSampler: gamma must be an integer ≥ 1, got ${cfg.gamma}`);
    if (!(cfg.tau > 0) || !Number.isFinite(cfg.tau)) throw new Error(`DeviceSampler: tau must be a finite number > 0, got ${cfg.tau}`);
    if (mu * items > 0x7fffffff) throw new Error(`DeviceSampler: ${mu}×${items} entries exceed the int32 index space`);
    this.release();
    const be = this.backend;
    const idx = await this.indices(mu, items);
    const l = await be.upload({ data: Float32Array.from(logits), dims: [mu, items] });
    const invTau = { data: new Float32Array([1 / cfg.tau]), dims: [1] };
    const { k0, k1 } = deviceStepKeys(cfg.seed, cfg.step, cfg.gamma, cfg.duplicateFirstSample);
    const store = this.storesNoise(mu, items, cfg.gamma);
    const fwd = await be.session(specs.forward(store), { deviceOutputs: true });
    const per = this.chunkSamples(mu, items, cfg.gamma);
    let acc = await this.zeros(mu, items);
    const z: DeviceTensor[] = [];
    const e: DeviceTensor[] = [];
    for (let k = 0; k < cfg.gamma; k += per) {
      const n = Math.min(per, cfg.gamma - k);
      const out = await be.runDevice(fwd, {
        L: l,
        INVTAU: invTau,
        IDX: idx,
        K0: { data: k0.slice(k, k + n), dims: [n, 1, 1] },
        K1: { data: k1.slice(k, k + n), dims: [n, 1, 1] },
        ACC: acc,
      });
      this.drop(acc);
      acc = out.ACCOUT as DeviceTensor;
      z.push(out.Z as DeviceTensor);
      if (store) e.push(out.E as DeviceTensor);
    }
    const sup = await be.runDevice(await be.session(specs.support(), { deviceOutputs: ["S", "XHAT"] }), { L: l, ACC: acc, INVTAU: invTau });
    this.drop(acc);
    const { S: s, XHAT: xhat, XHOST: host } = sup;
    if (!isDevice(s) || !isDevice(xhat) || isDevice(host)) throw new Error("DeviceSampler: the support graph must keep S and X̂ on the device and return X̂");
    this.last = { mu, items, cfg, logits: l, s, xhat, z, e, k0, k1 };
    const x32 = host.data as Float32Array;
    const support = new Float64Array(x32.length);
    let total = 0;
    for (let i = 0; i < x32.length; i++) {
      const v = x32[i];
      support[i] = v;
      total += v;
    }
    return { support, total, device: xhat };
  }

  /** dL (μ × I, float64 copy) of the last forward for dX̂. */
  async backward(dSupport: Float64Array): Promise<Float64Array> {
    const f = this.last;
    if (!f) throw new Error("DeviceSampler: backward without a forward");
    const { mu, items } = f;
    if (dSupport.length !== mu * items) throw new Error(`DeviceSampler: dSupport has ${dSupport.length} values, expected ${mu}×${items}`);
    const dx = await this.backend.upload({ data: Float32Array.from(dSupport), dims: [mu, items] });
    try {
      return await this.backwardDevice(dx);
    } finally {
      dx.dispose();
    }
  }

  /** dL of the last forward for dX̂ given on the device (μ × I float32; the caller keeps it). */
  async backwardDevice(dx: DeviceTensor): Promise<Float64Array> {
    const f = this.last;
    if (!f) throw new Error("DeviceSampler: backward without a forward");
    const { mu, items, cfg } = f;
    if (dx.dims.length !== 2 || dx.dims[0] !== mu || dx.dims[1] !== items) throw new Error(`DeviceSampler: dX̂ has dims [${dx.dims.join(", ")}], expected [${mu}, ${items}]`);
    const be = this.backend;
    const idx = await this.indices(mu, items);
    const invTau = { data: new Float32Array([1 / cfg.tau]), dims: [1] };
    const v = (await be.runDevice(await be.session(specs.weight(), { deviceOutputs: true }), { L: f.logits, S: f.s, DX: dx, INVTAU: invTau })).V as DeviceTensor;
    const stored = f.e.length > 0;
    const bwd = await be.session(specs.backward(stored), { deviceOutputs: true });
    const per = this.chunkSamples(mu, items, cfg.gamma);
    let acc = await this.zeros(mu, items);
    for (let k = 0, c = 0; k < cfg.gamma; k += per, c++) {
      const n = Math.min(per, cfg.gamma - k);
      const noise: Record<string, TensorArg | DeviceTensor> = stored
        ? { E: f.e[c] }
        : { IDX: idx, K0: { data: f.k0.slice(k, k + n), dims: [n, 1, 1] }, K1: { data: f.k1.slice(k, k + n), dims: [n, 1, 1] } };
      const out = await be.runDevice(bwd, { L: f.logits, INVTAU: invTau, V: v, Z: f.z[c], ACC: acc, ...noise });
      this.drop(acc);
      acc = out.ACCOUT as DeviceTensor;
    }
    v.dispose();
    const out = await be.runDevice(await be.session(specs.gradient()), { L: f.logits, S: f.s, DX: dx, ACC: acc, INVTAU: invTau });
    this.drop(acc);
    const dl = out.DL;
    if (isDevice(dl)) throw new Error("DeviceSampler: the gradient graph must return dL to the host");
    return Float64Array.from(dl.data as Float32Array);
  }

  /** Frees the last forward's device state. */
  release(): void {
    const f = this.last;
    if (!f) return;
    f.logits.dispose();
    f.s.dispose();
    f.xhat.dispose();
    for (const z of f.z) z.dispose();
    for (const e of f.e) e.dispose();
    this.last = null;
  }

  /** Frees everything. */
  dispose(): void {
    this.release();
    this.index?.t.dispose();
    this.index = null;
    this.zero?.t.dispose();
    this.zero = null;
  }
}
