/**
 * The one module in infrec that imports ONNX Runtime.
 *
 * Usage (e.g. from lib/linalg/ort-kernels.ts):
 *
 *   import { getBackend } from "./backend.ts";
 *   const be = await getBackend({ device: "auto" });   // be.device: "cuda" | "cpu" | …
 *   // C (m×n) = A (m×k) · B (k×n); row-major Float32Arrays, subarray views are fine.
 *   const c = await be.matmul(a, [m, k], b, [k, n]);
 *   // A · Bᵀ with B given as (n×k), written into a pre-allocated view (no fresh output):
 *   await be.matmul(a, [m, k], b, [n, k], { transB: true, out: cView });
 *   // C − A·Bᵀ (Cholesky trailing update); `out` may be C's own storage (in place).
 *   await be.gemmUpdate(c, [m, n], a, [m, k], b, [n, k], { out: c });
 *   // Scores K·α are a plain matmul (K block m×n, α n×I).
 *   // Any registered graph (lib/onnx/graphs/index.ts), or a GraphSpec (key + bytes):
 *   const s = await be.session("matmul");                 // cached per (graph, backend)
 *   const s2 = await be.session(ntkGraph("gram", 1));      // lib/ntk/gram-graph.ts
 *   const { K } = await be.run(s, { A: { data: a, dims: [na, d] }, B: { data: b, dims: [nb, d] } },
 *                              { K: { data: kOut, dims: [na, nb] } });   // outputs optional
 *   // The NTK Gram in row blocks, into a caller's buffer: lib/ntk/gram.ts
 *   const k = await ntkGram(be, xs, n, xs, n, d, { depth: 1, out: kOut });
 *
 * Devices: "cpu" (onnxruntime-node, CPU EP; default), "cuda", "webgpu" (native EPs of
 * onnxruntime-node), "wasm" (onnxruntime-web), "auto" (CUDA, then CPU, then WASM when
 * the native binding cannot load). ORT does not fall back by itself — ['cuda','cpu']
 * throws when the CUDA libraries are missing — so each EP is tried on its own with a
 * probe graph. `backend.device` says what was picked and `backend.message` why.
 *
 * Tensors cross this boundary as { data, dims }: ORT tensors are created over the
 * caller's typed arrays (zero copy; subarray views work), and outputs given to `run`
 * are written in place by onnxruntime-node instead of allocating fresh ones
 * (onnxruntime-web ignores pre-allocated CPU outputs, so on WASM they are copied in).
 */
import type { GraphSpec } from "./builder.ts";
import { graphBytes, isGraphName, type GraphName } from "./graphs/index.ts";

/** The ORT API (onnxruntime-common's, re-exported identically by the node and web packages). */
type Ort = typeof import("onnxruntime-node");
type OrtSession = import("onnxruntime-node").InferenceSession;
type OrtTensor = import("onnxruntime-node").Tensor;

/** The device names a user may ask for. */
export const DEVICE_REQUESTS = ["cpu", "wasm", "cuda", "webgpu", "auto"] as const;
export type DeviceRequest = (typeof DEVICE_REQUESTS)[number];

/** A device flag's value (default "cpu"); throws naming the valid names. */
export function parseDeviceRequest(value: string | undefined): DeviceRequest {
  const d = value ?? "cpu";
  if (!(DEVICE_REQUESTS as readonly string[]).includes(d)) throw new Error(`--device must be one of ${DEVICE_REQUESTS.join(", ")}, got '${d}'`);
  return d as DeviceRequest;
}
export type Device = "cpu" | "cuda" | "webgpu" | "wasm";

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array;

/** A tensor as infrec passes it around: row-major data and its dims. */
export interface TensorArg<T extends TensorData = TensorData> {
  data: T;
  dims: readonly number[];
}

export interface BackendOptions {
  /** Which device to run on (default "cpu"). */
  device?: DeviceRequest;
  /** Intra-op threads for native CPU (default: all cores); WASM threads (default 1). */
  threads?: number;
  /** Where the one-line device message goes (default: nowhere; read backend.message). */
  log?: (line: string) => void;
}

/** A loaded graph, bound to the backend that created it. */
export interface Session {
  readonly key: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

export interface MatmulOptions {
  /** B is given as (n × k) and used transposed. */
  transB?: boolean;
  /** Pre-allocated output of m·n floats; ORT writes into it. */
  out?: Float32Array;
}

export interface Backend {
  readonly device: Device;
  /** One line: what was asked, what was picked and why. */
  readonly message: string;
  readonly threads: number;
  /** A session for a registered graph (lib/onnx/graphs) or a GraphSpec, cached by its name or key. */
  session(graph: GraphName | GraphSpec): Promise<Session>;
  /** Runs a session. Outputs given in `outputs` are written in place; the rest are fresh. */
  run(
    session: Session,
    feeds: Record<string, TensorArg>,
    outputs?: Record<string, TensorArg>,
  ): Promise<Record<string, TensorArg>>;
  /** A (m×k) · B (k×n), or A · Bᵀ with B (n×k) when transB. Returns m×n float32. */
  matmul(
    a: Float32Array,
    aDims: readonly [number, number],
    b: Float32Array,
    bDims: readonly [number, number],
    opts?: MatmulOptions,
  ): Promise<Float32Array>;
  /** C − A·Bᵀ for C (m×n), A (m×k), B (n×k). `out` may be `c` itself (in place). */
  gemmUpdate(
    c: Float32Array,
    cDims: readonly [number, number],
    a: Float32Array,
    aDims: readonly [number, number],
    b: Float32Array,
    bDims: readonly [number, number],
    opts?: { out?: Float32Array },
  ): Promise<Float32Array>;
  /** Releases every cached session. */
  release(): Promise<void>;
}

/** All cores: navigator.hardwareConcurrency where it exists (browsers, Deno, Bun, Node ≥ 21), else node:os. */
async function defaultThreads(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const n = nav?.hardwareConcurrency;
  if (typeof n === "number" && n > 0) return n;
  try {
    const os = await import("node:os");
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    return 1;
  }
}

function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`tensor dims [${dims.join(", ")}] are not non-negative integers`);
    n *= d;
  }
  return n;
}

function elemType(data: TensorData): "float32" | "float64" | "int32" | "int64" {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  throw new Error("tensor data must be a Float32Array, Float64Array, Int32Array or BigInt64Array");
}

let nativeModule: Promise<Ort> | undefined;
let webModule: Promise<Ort> | undefined;

async function loadNative(): Promise<Ort> {
  nativeModule ??= (async () => {
    const ort = (await import("onnxruntime-node")) as Ort;
    // A failing execution provider (probing CUDA on a machine without it) also
    // logs to stderr; its error reaches us as an exception, so only fatal logs.
    ort.env.logLevel = "fatal";
    return ort;
  })();
  return nativeModule;
}

async function loadWeb(threads: number): Promise<Ort> {
  webModule ??= (async () => {
    const ort = (await import("onnxruntime-web")) as unknown as Ort;
    // Point ORT at its own wasm files in node_modules so it works offline
    // (the default may resolve relative to a bundle or a CDN).
    const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
    if (typeof resolve === "function") {
      try {
        const entry = resolve("onnxruntime-web");
        if (entry.startsWith("file:")) ort.env.wasm.wasmPaths = new URL("./", entry).href;
      } catch {
        // keep ORT's default lookup
      }
    }
    // ORT reads this once, when the WASM runtime starts: the first WASM backend's
    // thread count holds for the whole process.
    ort.env.wasm.numThreads = threads;
    return ort;
  })();
  return webModule;
}

/** A tiny Add graph, run once to prove an execution provider really works. */
const PROBE: GraphName = "probe_add";

class OrtBackend implements Backend {
  private readonly sessions = new Map<string, { ort: OrtSession; info: Session }>();
  private readonly sessionPromises = new Map<string, Promise<Session>>();

  message = "";

  constructor(
    private readonly ort: Ort,
    readonly device: Device,
    readonly threads: number,
  ) {}

  private providers(): string[] {
    return this.device === "wasm" ? ["wasm"] : [this.device];
  }

  async session(graph: GraphName | GraphSpec): Promise<Session> {
    const k = typeof graph === "string" ? graph : graph.key;
    if (typeof graph !== "string" && isGraphName(k)) {
      throw new Error(`backend.session: graph key "${k}" is the name of a registered graph; pick another key`);
    }
    let p = this.sessionPromises.get(k);
    if (p === undefined) {
      p = this.create(k, typeof graph === "string" ? graphBytes(graph) : graph.bytes());
      this.sessionPromises.set(k, p);
      p.catch(() => this.sessionPromises.delete(k));
    }
    return p;
  }

  private async create(key: string, bytes: Uint8Array): Promise<Session> {
    const options: import("onnxruntime-node").InferenceSession.SessionOptions = {
      executionProviders: this.providers(),
      graphOptimizationLevel: "all",
      logSeverityLevel: 3, // errors only: ORT's warnings are about its own graph rewrites
    };
    if (this.device !== "wasm") {
      options.intraOpNumThreads = this.threads;
      options.interOpNumThreads = 1;
    }
    const s = await this.ort.InferenceSession.create(bytes, options);
    const info: Session = { key, inputNames: s.inputNames, outputNames: s.outputNames };
    this.sessions.set(key, { ort: s, info });
    return info;
  }

  private tensor(name: string, t: TensorArg): OrtTensor {
    const n = numel(t.dims);
    if (t.data.length !== n) {
      throw new Error(`tensor ${name}: ${t.data.length} values for dims [${t.dims.join(", ")}] (${n})`);
    }
    // The constructor's overloads are per element type; data and type agree by construction.
    const Ctor = this.ort.Tensor as unknown as new (type: string, data: TensorData, dims: readonly number[]) => OrtTensor;
    return new Ctor(elemType(t.data), t.data, t.dims);
  }

  async run(
    session: Session,
    feeds: Record<string, TensorArg>,
    outputs: Record<string, TensorArg> = {},
  ): Promise<Record<string, TensorArg>> {
    const entry = this.sessions.get(session.key);
    if (entry === undefined || entry.info !== session) throw new Error(`backend.run: session ${session.key} is not from this backend`);
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const name of session.inputNames) {
      const t = feeds[name];
      if (t === undefined) throw new Error(`backend.run(${session.key}): missing input ${name}`);
      ortFeeds[name] = this.tensor(name, t);
    }
    for (const name of Object.keys(feeds)) {
      if (!session.inputNames.includes(name)) throw new Error(`backend.run(${session.key}): unknown input ${name}`);
    }
    const fetches: Record<string, OrtTensor | null> = {};
    for (const name of session.outputNames) fetches[name] = null;
    for (const [name, t] of Object.entries(outputs)) {
      if (!session.outputNames.includes(name)) throw new Error(`backend.run(${session.key}): unknown output ${name}`);
      // onnxruntime-web ignores pre-allocated CPU outputs (it leaves them unwritten),
      // so on WASM we fetch fresh outputs and copy them into the caller's buffers.
      if (this.device !== "wasm") fetches[name] = this.tensor(name, t);
      else if (t.data.length !== numel(t.dims)) throw new Error(`output ${name}: ${t.data.length} values for dims [${t.dims.join(", ")}]`);
    }
    const res = await entry.ort.run(ortFeeds, fetches);
    const result: Record<string, TensorArg> = {};
    for (const name of session.outputNames) {
      const given = outputs[name];
      const t = res[name] as OrtTensor;
      if (given !== undefined) {
        if (t.data !== given.data) {
          if (t.data.length !== given.data.length) {
            throw new Error(`backend.run(${session.key}): output ${name} has ${t.data.length} values, buffer has ${given.data.length}`);
          }
          given.data.set(t.data as never);
        }
        result[name] = given;
        continue;
      }
      result[name] = { data: t.data as TensorData, dims: t.dims };
    }
    return result;
  }

  async matmul(
    a: Float32Array,
    aDims: readonly [number, number],
    b: Float32Array,
    bDims: readonly [number, number],
    opts: MatmulOptions = {},
  ): Promise<Float32Array> {
    const [m, k] = aDims;
    const [n, k2] = opts.transB ? bDims : [bDims[1], bDims[0]];
    if (k !== k2) {
      throw new Error(`matmul: A is ${m}×${k} but B is ${bDims[0]}×${bDims[1]}${opts.transB ? " (transposed)" : ""}`);
    }
    const out = opts.out ?? new Float32Array(m * n);
    if (out.length !== m * n) throw new Error(`matmul: out has ${out.length} values, need ${m}×${n}`);
    if (m === 0 || n === 0) return out;
    if (k === 0) return out.fill(0);
    const s = await this.session(opts.transB ? "matmul_bt" : "matmul");
    await this.run(s, { A: { data: a, dims: aDims }, B: { data: b, dims: bDims } }, { Y: { data: out, dims: [m, n] } });
    return out;
  }

  async gemmUpdate(
    c: Float32Array,
    cDims: readonly [number, number],
    a: Float32Array,
    aDims: readonly [number, number],
    b: Float32Array,
    bDims: readonly [number, number],
    opts: { out?: Float32Array } = {},
  ): Promise<Float32Array> {
    const [m, n] = cDims;
    if (aDims[0] !== m || bDims[0] !== n || aDims[1] !== bDims[1]) {
      throw new Error(`gemmUpdate: shapes C ${m}×${n}, A ${aDims[0]}×${aDims[1]}, B ${bDims[0]}×${bDims[1]} do not fit C − A·Bᵀ`);
    }
    const out = opts.out ?? new Float32Array(m * n);
    if (out.length !== m * n) throw new Error(`gemmUpdate: out has ${out.length} values, need ${m}×${n}`);
    if (m === 0 || n === 0) return out;
    if (aDims[1] === 0) {
      if (out !== c) out.set(c);
      return out;
    }
    const s = await this.session("gemm_update");
    await this.run(
      s,
      { C: { data: c, dims: cDims }, A: { data: a, dims: aDims }, B: { data: b, dims: bDims } },
      { Y: { data: out, dims: cDims } },
    );
    return out;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.sessionPromises.clear();
    await Promise.all(all.map((s) => s.ort.release()));
  }
}

/** Tries one device: loads its runtime and runs the probe graph. */
async function tryDevice(device: Device, threads: number): Promise<OrtBackend> {
  const ort = device === "wasm" ? await loadWeb(threads) : await loadNative();
  const be = new OrtBackend(ort, device, threads);
  const s = await be.session(PROBE);
  const { Y } = await be.run(s, { X: { data: new Float32Array([1, 2]), dims: [2] } });
  if (Y.data[0] !== 2 || Y.data[1] !== 3) throw new Error(`device ${device}: probe graph gave wrong values`);
  return be;
}

const HINTS: Partial<Record<Device, string>> = {
  cuda:
    " (the CUDA EP needs libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so of the same ORT" +
    " version as onnxruntime-node, in its bin/napi-v6/<platform>/<arch>/ folder, plus CUDA and cuDNN; try device webgpu or cpu)",
  webgpu: " (the WebGPU EP needs a GPU adapter: on Linux a Vulkan driver and libvulkan.so.1)",
};

function reason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0].slice(0, 400);
}

/**
 * Creates a backend for the requested device. A specific device that cannot
 * run throws an Error naming it — except "cpu" when the native binding itself
 * cannot load (a runtime without N-API addons): then WASM runs it, and the
 * message says so. "auto" tries CUDA, then CPU, then WASM.
 */
export async function createBackend(opts: BackendOptions = {}): Promise<Backend> {
  const request = opts.device ?? "cpu";
  if (!(DEVICE_REQUESTS as readonly string[]).includes(request)) {
    throw new Error(`backend: unknown device "${request}" (use auto, cpu, cuda, webgpu or wasm)`);
  }
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new Error(`backend: threads must be a positive integer, got ${opts.threads}`);
  }
  // WASM threads run in workers and barely help (docs/onnx-runtime.md#throughput), so WASM defaults to 1.
  const allCores = await defaultThreads();
  const threadsFor = (d: Device): number => opts.threads ?? (d === "wasm" ? 1 : allCores);
  const order: Device[] = request === "auto" ? ["cuda", "cpu", "wasm"] : [request];
  if (request === "cpu") {
    try {
      await loadNative();
    } catch (e) {
      order.push("wasm");
      nativeModule = undefined;
      opts.log?.(`onnx backend: onnxruntime-node cannot load (${reason(e)}); using onnxruntime-web`);
    }
  }
  const failures: string[] = [];
  for (const device of order) {
    try {
      const be = await tryDevice(device, threadsFor(device));
      const pkg = device === "wasm" ? "onnxruntime-web" : "onnxruntime-node";
      const why = failures.length > 0 ? ` (${failures.join("; ")})` : "";
      be.message = `onnx backend: device ${request} → ${device} (${pkg}, ${be.threads} thread${be.threads > 1 ? "s" : ""})${why}`;
      opts.log?.(be.message);
      return be;
    } catch (e) {
      failures.push(`${device}: ${reason(e)}`);
      if (request !== "auto" && !(request === "cpu" && order.length > 1 && device === "cpu")) {
        throw new Error(`onnx backend: device "${device}" is not available: ${reason(e)}${HINTS[device] ?? ""}`);
      }
    }
  }
  throw new Error(`onnx backend: no device works (${failures.join("; ")})`);
}

const backends = new Map<string, Promise<Backend>>();

/** A shared backend per (device, threads): sessions are cached inside it. */
export function getBackend(opts: BackendOptions = {}): Promise<Backend> {
  const key = `${opts.device ?? "cpu"}/${opts.threads ?? "default"}`;
  let p = backends.get(key);
  if (p === undefined) {
    p = createBackend(opts);
    backends.set(key, p);
    p.catch(() => backends.delete(key));
  }
  return p;
}
