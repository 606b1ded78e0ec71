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
import { decodeModel, type GraphSpec } from "./builder.ts";
import { graphBytes, isGraphName, type GraphName } from "./graphs/index.ts";
import { logicalCores } from "../util/worker.ts";

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
/** Frees the named feeds that are device tensors (e.g. a context block uploaded for one run). */
export function disposeDeviceFeeds(feeds: Record<string, TensorArg | DeviceTensor>, ...names: string[]): void {
  for (const name of names) {
    const t = feeds[name];
    if (t !== undefined && "dispose" in t) t.dispose();
  }
}

/** A sparse float32 block: flat indices (row·cols + col, distinct), their values and the block's dims. */
export interface SparseBlock {
  indices: Int32Array;
  values: Float32Array;
  dims: readonly [number, number];
}

export interface TensorArg<T extends TensorData = TensorData> {
  data: T;
  dims: readonly number[];
}

/**
 * A tensor that stays where it was computed, to be passed from one run to the
 * next without a host round trip: a WebGPU buffer on "webgpu", ORT's own
 * memory on the host for "cpu", "cuda" outputs and "wasm". Bound to the backend
 * that made it. Only `download` brings its values to the host.
 */
export interface DeviceTensor {
  readonly dims: readonly number[];
  readonly type: TensorType;
  /** Where the values live: "gpu-buffer" (WebGPU) or "cpu". */
  readonly location: "gpu-buffer" | "cpu";
  /** Size of the values in bytes. */
  readonly bytes: number;
  /** Frees the memory now (a GPU buffer otherwise waits for garbage collection); the handle is dead after. */
  dispose(): void;
}

export type TensorType = "float32" | "float64" | "int32" | "int64";

/** What crossed between host and device, and how many runs: a backend's running totals. */
export interface TransferStats {
  /** session.run calls (uploads and downloads of device tensors included). */
  runs: number;
  /** Bytes of host arrays fed to runs (host → device). */
  hostToDeviceBytes: number;
  /** Bytes of outputs delivered to the host (device → host). */
  deviceToHostBytes: number;
}

export interface SessionOptions {
  /**
   * Outputs that stay on the device as DeviceTensors: every output (true) or
   * the named ones; the rest come back to the host (default: none stay).
   */
  deviceOutputs?: boolean | readonly string[];
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
  /** Outputs kept on the device (empty for a host-output session). */
  readonly deviceOutputs: readonly string[];
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
  /**
   * A session for a registered graph (lib/onnx/graphs) or a GraphSpec, cached by
   * its name or key (and by which outputs stay on the device).
   */
  session(graph: GraphName | GraphSpec, options?: SessionOptions): Promise<Session>;
  /** Runs a session. Outputs given in `outputs` are written in place; the rest are fresh. */
  run(
    session: Session,
    feeds: Record<string, TensorArg>,
    outputs?: Record<string, TensorArg>,
  ): Promise<Record<string, TensorArg>>;
  /**
   * Runs a session whose inputs may be DeviceTensors of this backend; outputs
   * the session keeps on the device come back as DeviceTensors, the others as
   * host arrays.
   */
  runDevice(session: Session, feeds: Record<string, TensorArg | DeviceTensor>): Promise<Record<string, TensorArg | DeviceTensor>>;
  /** Puts host values on the device (on the host backends the data is not copied: do not modify it while the handle lives). */
  upload(t: TensorArg): Promise<DeviceTensor>;
  /**
   * A dense rows × cols float32 block on the device from its nonzero entries
   * (flat indices row·cols + col, distinct): on WebGPU only the entries cross
   * and a scatter graph densifies them there; elsewhere the dense block is
   * built on the host and uploaded.
   */
  uploadSparse(block: SparseBlock): Promise<DeviceTensor>;
  /** Brings a device tensor's values to the host. */
  download(t: DeviceTensor): Promise<TensorData>;
  /** Runs, bytes uploaded and bytes downloaded so far (a live object; copy it to keep a snapshot). */
  readonly stats: TransferStats;
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

function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`tensor dims [${dims.join(", ")}] are not non-negative integers`);
    n *= d;
  }
  return n;
}

function elemType(data: TensorData): TensorType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  throw new Error("tensor data must be a Float32Array, Float64Array, Int32Array or BigInt64Array");
}

/** INFREC_ORT_LOG=verbose: ORT's own verbose log (node placements, kernels), for diagnosing a device. */
function ortVerbose(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.INFREC_ORT_LOG === "verbose";
}

let nativeModule: Promise<Ort> | undefined;
let webModule: Promise<Ort> | undefined;

async function loadNative(): Promise<Ort> {
  nativeModule ??= (async () => {
    const ort = (await import("onnxruntime-node")) as Ort;
    // A failing execution provider (probing CUDA on a machine without it) also
    // logs to stderr; its error reaches us as an exception, so only fatal logs.
    ort.env.logLevel = ortVerbose() ? "verbose" : "fatal";
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

const BYTES_PER_ELEMENT: Record<TensorType, number> = { float32: 4, float64: 8, int32: 4, int64: 8 };

/** A DeviceTensor over an ORT tensor; `owner` is the backend whose runs may take it. */
class OrtDeviceTensor implements DeviceTensor {
  private disposed = false;
  readonly bytes: number;

  constructor(
    readonly owner: OrtBackend,
    private readonly tensor: OrtTensor,
  ) {
    this.bytes = numel(tensor.dims) * BYTES_PER_ELEMENT[this.type];
  }

  get dims(): readonly number[] {
    return this.tensor.dims;
  }

  get type(): TensorType {
    return this.tensor.type as TensorType;
  }

  get location(): "gpu-buffer" | "cpu" {
    return this.tensor.location === "gpu-buffer" ? "gpu-buffer" : "cpu";
  }

  /** @internal the ORT tensor, for runs of its owner. */
  ortTensor(): OrtTensor {
    if (this.disposed) throw new Error(`device tensor [${this.dims.join(", ")}] was disposed`);
    return this.tensor;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Host tensors are garbage collected; a GPU buffer is released now.
    if (this.tensor.location === "gpu-buffer") this.tensor.dispose();
  }
}

function isDeviceTensor(t: TensorArg | DeviceTensor): t is DeviceTensor {
  return t instanceof OrtDeviceTensor;
}

/** A tiny Add graph, run once to prove an execution provider really works. */
const PROBE: GraphName = "probe_add";

class OrtBackend implements Backend {
  private readonly sessions = new Map<string, { ort: OrtSession; info: Session }>();
  private readonly sessionPromises = new Map<string, Promise<Session>>();

  message = "";
  readonly stats: TransferStats = { runs: 0, hostToDeviceBytes: 0, deviceToHostBytes: 0 };

  constructor(
    private readonly ort: Ort,
    readonly device: Device,
    readonly threads: number,
  ) {}

  private providers(): string[] {
    return this.device === "wasm" ? ["wasm"] : [this.device];
  }

  async session(graph: GraphName | GraphSpec, options: SessionOptions = {}): Promise<Session> {
    const name = typeof graph === "string" ? graph : graph.key;
    if (typeof graph !== "string" && isGraphName(name)) {
      throw new Error(`backend.session: graph key "${name}" is the name of a registered graph; pick another key`);
    }
    const kept = options.deviceOutputs ?? false;
    const k = kept === false || (Array.isArray(kept) && kept.length === 0) ? name : `${name}@device:${kept === true ? "*" : [...kept].sort().join(",")}`;
    let p = this.sessionPromises.get(k);
    if (p === undefined) {
      p = this.create(k, typeof graph === "string" ? graphBytes(graph) : graph.bytes(), kept);
      this.sessionPromises.set(k, p);
      p.catch(() => this.sessionPromises.delete(k));
    }
    return p;
  }

  private async create(key: string, bytes: Uint8Array, kept: boolean | readonly string[]): Promise<Session> {
    const options: import("onnxruntime-node").InferenceSession.SessionOptions = {
      executionProviders: this.providers(),
      graphOptimizationLevel: "all",
      // Errors only: ORT's warnings are about its own graph rewrites. INFREC_ORT_LOG=verbose
      // shows everything, e.g. which execution provider each node was placed on.
      logSeverityLevel: ortVerbose() ? 0 : 3,
    };
    if (this.device !== "wasm") {
      options.intraOpNumThreads = this.threads;
      options.interOpNumThreads = 1;
      // ORT's idle worker threads spin between runs by default, taking cores from the
      // TypeScript between runs and from infrec's own workers. Off unless INFREC_ORT_SPIN=1:
      // on this 2-core machine the ML-1M ∞-AE protocol took 27.0 / 27.2 / 30.0 s without
      // spinning against 30.5 / 31.0 / 32.1 s with it (alternating runs, bench/closed-form.ts).
      const spin = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.INFREC_ORT_SPIN;
      if (spin !== "1") options.extra = { session: { intra_op: { allow_spinning: "0" } } };
    }
    // Only the WebGPU EP places outputs elsewhere than the host; there a per-output
    // map keeps the named outputs in GPU buffers.
    if (this.device === "webgpu" && kept !== false) {
      const names = kept === true ? null : new Set(kept);
      options.preferredOutputLocation = {};
      const locations = options.preferredOutputLocation as Record<string, "gpu-buffer" | "cpu">;
      for (const out of decodeModel(bytes).graph?.output ?? []) {
        locations[out.name!] = names === null || names.has(out.name!) ? "gpu-buffer" : "cpu";
      }
    }
    const s = await this.ort.InferenceSession.create(bytes, options);
    for (const name of kept === true || kept === false ? [] : kept) {
      if (!s.outputNames.includes(name)) throw new Error(`backend.session(${key}): no output ${name} to keep on the device`);
    }
    const deviceOutputs = kept === true ? [...s.outputNames] : kept === false ? [] : [...kept];
    const info: Session = { key, inputNames: s.inputNames, outputNames: s.outputNames, deviceOutputs };
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
    if (session.deviceOutputs.length > 0) throw new Error(`backend.run(${session.key}): this session keeps outputs on the device; use runDevice`);
    for (const t of Object.values(ortFeeds)) this.stats.hostToDeviceBytes += (t.data as TensorData).byteLength;
    this.stats.runs++;
    const res = await entry.ort.run(ortFeeds, fetches);
    const result: Record<string, TensorArg> = {};
    for (const name of session.outputNames) {
      const given = outputs[name];
      this.stats.deviceToHostBytes += ((res[name] as OrtTensor).data as TensorData).byteLength;
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

  /** The ORT tensor of a feed: a device tensor of this backend as it is, a host array wrapped (zero copy). */
  private feed(session: Session, name: string, t: TensorArg | DeviceTensor): OrtTensor {
    if (!isDeviceTensor(t)) {
      this.stats.hostToDeviceBytes += t.data.byteLength;
      return this.tensor(name, t);
    }
    if (!(t instanceof OrtDeviceTensor) || t.owner !== this) {
      const from = t instanceof OrtDeviceTensor ? `backend "${t.owner.device}"` : "another runtime";
      throw new Error(`backend.runDevice(${session.key}): input ${name} is a device tensor of ${from}, not of this "${this.device}" backend; download it first`);
    }
    return t.ortTensor();
  }

  async runDevice(session: Session, feeds: Record<string, TensorArg | DeviceTensor>): Promise<Record<string, TensorArg | DeviceTensor>> {
    const entry = this.sessions.get(session.key);
    if (entry === undefined || entry.info !== session) throw new Error(`backend.runDevice: session ${session.key} is not from this backend`);
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const name of session.inputNames) {
      const t = feeds[name];
      if (t === undefined) throw new Error(`backend.runDevice(${session.key}): missing input ${name}`);
      ortFeeds[name] = this.feed(session, name, t);
    }
    for (const name of Object.keys(feeds)) {
      if (!session.inputNames.includes(name)) throw new Error(`backend.runDevice(${session.key}): unknown input ${name}`);
    }
    this.stats.runs++;
    const res = await entry.ort.run(ortFeeds);
    const result: Record<string, TensorArg | DeviceTensor> = {};
    for (const name of session.outputNames) {
      const t = res[name] as OrtTensor;
      if (session.deviceOutputs.includes(name)) {
        result[name] = new OrtDeviceTensor(this, t);
        continue;
      }
      this.stats.deviceToHostBytes += (t.data as TensorData).byteLength;
      result[name] = { data: t.data as TensorData, dims: t.dims };
    }
    return result;
  }

  async upload(t: TensorArg): Promise<DeviceTensor> {
    if (this.device !== "webgpu") {
      this.stats.hostToDeviceBytes += t.data.byteLength;
      return new OrtDeviceTensor(this, this.tensor("upload", t));
    }
    const s = await this.session(`identity_${elemType(t.data)}` as GraphName, { deviceOutputs: true });
    return (await this.runDevice(s, { X: t })).Y as DeviceTensor;
  }

  async uploadSparse(block: SparseBlock): Promise<DeviceTensor> {
    const [rows, cols] = block.dims;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw new Error(`backend.uploadSparse: bad dims [${rows}, ${cols}]`);
    const size = rows * cols;
    const { indices, values } = block;
    if (indices.length !== values.length) throw new Error(`backend.uploadSparse: ${indices.length} indices but ${values.length} values`);
    for (let p = 0; p < indices.length; p++) {
      if (!(indices[p] >= 0 && indices[p] < size)) throw new Error(`backend.uploadSparse: index ${indices[p]} outside the ${rows} × ${cols} block`);
    }
    // int32 flat indices reach 2^31 − 1; an empty scatter is not worth a graph.
    if (this.device !== "webgpu" || size >= 2 ** 31 || indices.length === 0) {
      const dense = new Float32Array(size);
      for (let p = 0; p < indices.length; p++) dense[indices[p]] = values[p];
      return this.upload({ data: dense, dims: [rows, cols] });
    }
    const s = await this.session("scatter_rows", { deviceOutputs: true });
    const out = await this.runDevice(s, {
      IDX: { data: indices, dims: [indices.length] },
      VAL: { data: values, dims: [values.length] },
      SIZE: { data: BigInt64Array.of(BigInt(size)), dims: [1] },
      SHAPE: { data: BigInt64Array.of(BigInt(rows), BigInt(cols)), dims: [2] },
    });
    return out.Y as DeviceTensor;
  }

  async download(t: DeviceTensor): Promise<TensorData> {
    if (!(t instanceof OrtDeviceTensor) || t.owner !== this) throw new Error(`backend.download: the device tensor is not from this "${this.device}" backend`);
    if (t.location === "cpu") {
      const data = t.ortTensor().data as TensorData;
      this.stats.deviceToHostBytes += data.byteLength;
      return data;
    }
    // getData() on a gpu-buffer tensor aborts the process in onnxruntime-node 1.30
    // (docs/onnx-runtime.md#device-resident-tensors): read it through a host-output run.
    if (t.type === "float64") throw new Error("backend.download: WebGPU has no float64 tensors");
    const s = await this.session(`identity_${t.type}` as GraphName);
    const { Y } = await this.runDevice(s, { X: t });
    return (Y as TensorArg).data;
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

/** Vulkan device names of software rasterisers: never picked by "auto". */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader/i;

/**
 * The Vulkan devices the WebGPU EP would see, or why none can be named. The
 * binding does not expose its adapter, so a child process opens a tiny WebGPU
 * session with the Vulkan loader's device listing on (VK_LOADER_DEBUG=info)
 * and its stderr is read (docs/onnx-runtime.md#webgpu-on-lavapipe). Node only.
 */
async function vulkanAdapters(): Promise<{ names: string[] } | { reason: string }> {
  let fs: typeof import("node:fs");
  let cp: typeof import("node:child_process");
  try {
    fs = await import("node:fs");
    cp = await import("node:child_process");
  } catch {
    return { reason: "cannot inspect GPUs from this runtime" };
  }
  // Cheap first: no render node and no NVIDIA device file means no GPU at all.
  const dri = fs.existsSync("/dev/dri") ? fs.readdirSync("/dev/dri").some((f) => f.startsWith("renderD")) : false;
  const nvidia = fs.existsSync("/dev") && fs.readdirSync("/dev").some((f) => /^nvidia\d/.test(f));
  const software = Boolean(process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES);
  if (!dri && !nvidia && !software) return { reason: "no GPU device files (/dev/dri/renderD*, /dev/nvidia*)" };
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve !== "function") return { reason: "cannot locate onnxruntime-node for the adapter probe" };
  const ort = new URL(resolve("onnxruntime-node")).pathname;
  const model = Array.from(graphBytes(PROBE));
  const code = `const ort = require(${JSON.stringify(ort)});
ort.InferenceSession.create(Uint8Array.from(${JSON.stringify(model)}), { executionProviders: ["webgpu"] })
  .then(() => process.exit(0), (e) => { console.error("ORT-ERROR " + String(e.message).split("\\n")[0]); process.exit(3); });`;
  const r = cp.spawnSync(process.execPath, ["-e", code], { encoding: "utf8", env: { ...process.env, VK_LOADER_DEBUG: "info" }, timeout: 60_000 });
  const out = `${r.stderr ?? ""}${r.stdout ?? ""}`;
  const names = [...new Set([...out.matchAll(/^INFO[^\n]*?\[\d+\] (.+?)\s*$/gm)].map((m) => m[1]))];
  if (r.status !== 0) return { reason: (out.match(/ORT-ERROR (.*)/) ?? [])[1] ?? `adapter probe exited with ${r.status ?? r.signal}` };
  return { names };
}

/** For "auto": a hardware WebGPU adapter's name, or why WebGPU is passed over. */
async function hardwareWebGpu(): Promise<{ adapter: string } | { reason: string }> {
  const found = await vulkanAdapters();
  if ("reason" in found) return found;
  const hardware = found.names.filter((n) => !SOFTWARE_ADAPTER.test(n));
  if (hardware.length > 0) return { adapter: hardware[0] };
  if (found.names.length > 0) return { reason: `only software Vulkan adapters (${found.names.join(", ")})` };
  return { reason: "the Vulkan loader named no adapter" };
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
 * message says so. "auto" tries CUDA, then WebGPU on a hardware adapter (never
 * a software Vulkan driver such as lavapipe), then CPU, then WASM, and writes
 * one line saying what it picked and why (to `log`, or stderr).
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
  const allCores = await logicalCores();
  const threadsFor = (d: Device): number => opts.threads ?? (d === "wasm" ? 1 : allCores);
  const order: Device[] = request === "auto" ? ["cuda", "webgpu", "cpu", "wasm"] : [request];
  const failures: string[] = [];
  const notes: Partial<Record<Device, string>> = {};
  if (request === "cpu") {
    try {
      await loadNative();
    } catch (e) {
      order.push("wasm");
      nativeModule = undefined;
      opts.log?.(`onnx backend: onnxruntime-node cannot load (${reason(e)}); using onnxruntime-web`);
    }
  }
  for (const device of order) {
    try {
      if (request === "auto" && device === "webgpu") {
        const gpu = await hardwareWebGpu();
        if ("reason" in gpu) {
          failures.push(`webgpu: ${gpu.reason}`);
          continue;
        }
        notes.webgpu = gpu.adapter;
      }
      const be = await tryDevice(device, threadsFor(device));
      const pkg = device === "wasm" ? "onnxruntime-web" : "onnxruntime-node";
      const why = failures.length > 0 ? ` (${failures.join("; ")})` : "";
      const what = notes[device] ?? `${be.threads} thread${be.threads > 1 ? "s" : ""}`;
      be.message = `onnx backend: device ${request} → ${device} (${pkg}, ${what})${why}`;
      if (opts.log) opts.log(be.message);
      else if (request === "auto") console.error(be.message);
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

/** Runs and bytes moved so far by every shared backend (getBackend) of this process, summed. */
export async function sharedBackendStats(): Promise<TransferStats> {
  const total: TransferStats = { runs: 0, hostToDeviceBytes: 0, deviceToHostBytes: 0 };
  for (const p of backends.values()) {
    const be = await p.catch(() => null);
    if (!be) continue;
    total.runs += be.stats.runs;
    total.hostToDeviceBytes += be.stats.hostToDeviceBytes;
    total.deviceToHostBytes += be.stats.deviceToHostBytes;
  }
  return total;
}

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
