/**
 * (K + c_i·I)·α_i = X for a batch of shifts c_i at once, with K, the factors,
 * X and α resident on the backend's device (docs/onnx-runtime.md#device-resident-tensors).
 *
 *   const batch = await DeviceSpdBatch.factor(backend, kDevice, n, kDiagonal, [c1, c2, c3]);
 *   const { alpha, residuals } = await batch.solve(xDevice, m, { columns: [3, 17, 40] });
 *   // alpha: DeviceTensor [shifts, n, m]; batch.failures[i] is set where K + c_i·I is singular
 *
 * Right-looking blocked Cholesky, two ORT runs per block column for the whole
 * batch: the panel graph forms P_j = S_j[b:, :b]·D_jᵀ (kept on the device) and
 * the next diagonal block of S_{j+1}, the only thing that goes to the host;
 * the trailing graph forms S_{j+1} = S_j[b:, b:] − P_j·P_jᵀ on the device.
 * The host factors each diagonal block in float64 with the shift added
 * (cholesky.ts; singular pivots are caught per shift) and sends back
 * D_j = L_jj⁻¹; the shifts' blocks are factored side by side on worker threads
 * (block-factor.ts) while the device runs the trailing update (look-ahead).
 * The whole forward and backward substitution, and a residual check on
 * sampled columns, is one more run. So a batch costs 2⌈n/b⌉ runs and moves only b × b blocks, the
 * residuals and nothing of size n² (the serial host path: ~100 runs per shift,
 * each moving the n × n factor). The trailing update computes both triangles
 * (2n³/3 flops instead of n³/3) to keep every operand one GEMM.
 */
import type { Backend, DeviceTensor, TensorArg } from "../onnx/backend.ts";
import { attr, GraphBuilder, type GraphSpec, sharedGraphSpec, type Value } from "../onnx/builder.ts";
import { DEFAULT_MIN_PIVOT_RATIO, SingularKernelError } from "./cholesky.ts";
import { sharedBlockFactorPool } from "./block-factor.ts";

/** Block size: 256 matches the host solver's (its diagonal blocks cost ≈ 9 ms each in TypeScript). */
export const DEVICE_BLOCK_SIZE = 256;

/**
 * The block size in use: INFREC_DEVICE_BLOCK when set (a benchmarking knob: the
 * host's share grows with b², the number of runs with n/b), else DEVICE_BLOCK_SIZE.
 */
export function deviceBlockSize(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.INFREC_DEVICE_BLOCK;
  if (env === undefined || env === "") return DEVICE_BLOCK_SIZE;
  const b = Number(env);
  if (!Number.isInteger(b) || b < 16) throw new Error(`INFREC_DEVICE_BLOCK must be an integer ≥ 16, got '${env}'`);
  return b;
}

/** An end index past any dimension (Slice clamps it). */
const END = 1 << 30;

function slice(g: GraphBuilder, x: Value, axes: number[], starts: number[], ends: number[]): Value {
  return g.op("Slice", [x, g.constInt64(starts), g.constInt64(ends), g.constInt64(axes)]);
}

function transposeLast(g: GraphBuilder, x: Value): Value {
  return g.op("Transpose", [x], { perm: attr.ints([0, 2, 1]) });
}

/** T = K[:b, :b]: the first diagonal block, for the host. */
function topBlockGraph(b: number): Uint8Array {
  const g = new GraphBuilder(`spd_top_block_b${b}`);
  const k = g.input("K", "float32", ["n", "n"]);
  g.output(slice(g, k, [0, 1], [0, 0], [b, b]), "T", "float32", ["b", "b"]);
  return g.toBytes();
}

/**
 * One block column's panel for the batch, and the next diagonal block for the
 * host: P = S[…, b:, :b]·Dᵀ and T = S[…, b:2b, b:2b] − P[:b]·P[:b]ᵀ (outputs P,
 * T). S is K itself (rank 2, shared by the batch) at the first step and
 * [B, r, r] after. Small: the host factors T while the device runs the
 * trailing update (trailingGraph).
 */
function panelGraph(b: number, first: boolean): Uint8Array {
  const g = new GraphBuilder(`spd_panel_b${b}${first ? "_first" : ""}`);
  const s = g.input("S", "float32", first ? ["r", "r"] : ["B", "r", "r"]);
  const d = g.input("D", "float32", ["B", "b", "b"]);
  const column = slice(g, s, [-2, -1], [b, 0], [END, b]);
  const p = g.op("MatMul", [column, transposeLast(g, d)]);
  const pTop = slice(g, p, [-2], [0], [b]);
  const sNext = slice(g, s, [-2, -1], [b, b], [2 * b, 2 * b]);
  g.output(p, "P", "float32", ["B", "q", "b"]);
  g.output(g.op("Sub", [sNext, g.op("MatMul", [pTop, transposeLast(g, pTop)])]), "T", "float32", ["B", "t", "t"]);
  return g.toBytes();
}

/** The trailing Schur complement NEXT = S[…, b:, b:] − P·Pᵀ for the panel P of panelGraph. */
function trailingGraph(b: number, first: boolean): Uint8Array {
  const g = new GraphBuilder(`spd_trailing_b${b}${first ? "_first" : ""}`);
  const s = g.input("S", "float32", first ? ["r", "r"] : ["B", "r", "r"]);
  const p = g.input("P", "float32", ["B", "q", "b"]);
  const rest = slice(g, s, [-2, -1], [b, b], [END, END]);
  g.output(g.op("Sub", [rest, g.op("MatMul", [p, transposeLast(g, p)])]), "NEXT", "float32", ["B", "q", "q"]);
  return g.toBytes();
}

/**
 * Forward and backward substitution for `blocks` block rows, then the relative
 * residual ‖(K + c·I)·α − X‖/‖X‖ on the sampled columns, per shift.
 * Inputs: X [n, m], K [n, n], C [B] shifts, COLS [s], D0…D{blocks−1} [B, b_i, b_i],
 * P0…P{blocks−2} [B, n − (i+1)·b, b]. Outputs: A [B, n, m], R [B].
 */
function solveGraph(b: number, blocks: number): Uint8Array {
  const g = new GraphBuilder(`spd_solve_b${b}_k${blocks}`);
  const x = g.input("X", "float32", ["n", "m"]);
  const k = g.input("K", "float32", ["n", "n"]);
  const c = g.input("C", "float32", ["B"]);
  const cols = g.input("COLS", "int64", ["s"]);
  const d: Value[] = [];
  const p: Value[] = [];
  for (let i = 0; i < blocks; i++) d.push(g.input(`D${i}`, "float32", ["B", `b${i}`, `b${i}`]));
  for (let i = 0; i + 1 < blocks; i++) p.push(g.input(`P${i}`, "float32", ["B", `r${i}`, "b"]));
  // Forward: Y_i = D_i·Z[:b_i], Z ← Z[b:] − P_i·Y_i (Z starts as X, shared by the batch).
  let z = x;
  const y: Value[] = [];
  for (let i = 0; i < blocks; i++) {
    const top = i + 1 < blocks ? slice(g, z, [-2], [0], [b]) : z;
    y.push(g.op("MatMul", [d[i], top]));
    if (i + 1 < blocks) z = g.op("Sub", [slice(g, z, [-2], [b], [END]), g.op("MatMul", [p[i], y[i]])]);
  }
  // Backward: α_i = D_iᵀ·(Y_i − P_iᵀ·α[i+1:]), the tail grown by concatenation.
  let tail = g.op("MatMul", [transposeLast(g, d[blocks - 1]), y[blocks - 1]]);
  for (let i = blocks - 2; i >= 0; i--) {
    const t = g.op("Sub", [y[i], g.op("MatMul", [transposeLast(g, p[i]), tail])]);
    const ai = g.op("MatMul", [transposeLast(g, d[i]), t]);
    tail = g.op("Concat", [ai, tail], { axis: attr.int(1) });
  }
  g.output(tail, "A", "float32", ["B", "n", "m"]);
  // Residual on the sampled columns: (K·α + c·α − X)[:, cols].
  const ac = g.op("Gather", [tail, cols], { axis: attr.int(2) });
  const xc = g.op("Gather", [x, cols], { axis: attr.int(1) });
  const cb = g.op("Unsqueeze", [c, g.constInt64([1, 2])]);
  const r = g.op("Sub", [g.op("Add", [g.op("MatMul", [k, ac]), g.op("Mul", [cb, ac])]), xc]);
  const num = g.op("ReduceSumSquare", [r], { axes: attr.ints([1, 2]), keepdims: attr.int(0) });
  const den = g.op("ReduceSumSquare", [xc], { keepdims: attr.int(0) });
  g.output(g.op("Sqrt", [g.op("Div", [num, den])]), "R", "float32", ["B"]);
  return g.toBytes();
}


export interface DeviceSpdOptions {
  /** Block size (default DEVICE_BLOCK_SIZE). */
  blockSize?: number;
  /** A pivot ≤ minPivotRatio × its diagonal entry makes that shift fail (default 1e-5). */
  minPivotRatio?: number;
  /** Adds the seconds spent waiting for the host's diagonal blocks to timings["factor:host-wait"]. */
  timings?: Record<string, number>;
}

export interface DeviceSolveOptions {
  /** Columns of X the residual is checked on (non-empty, within [0, m)). */
  columns: ArrayLike<number>;
}

/** The factors of K + c_i·I for every shift of a batch, on the device. */
export class DeviceSpdBatch {
  private constructor(
    readonly backend: Backend,
    readonly n: number,
    readonly blockSize: number,
    readonly shifts: readonly number[],
    /** Per shift: null, or why K + c·I could not be factored (its results are garbage). */
    readonly failures: readonly (SingularKernelError | null)[],
    private readonly k: DeviceTensor,
    private readonly inverses: Float32Array[],
    private panels: DeviceTensor[],
  ) {}

  /**
   * Factors K + c·I for each shift c. `k` is the n × n kernel on this backend's
   * device (only read); `kDiagonal` its diagonal on the host (the pivot test's reference).
   */
  static async factor(
    backend: Backend,
    k: DeviceTensor,
    n: number,
    kDiagonal: ArrayLike<number>,
    shifts: readonly number[],
    options: DeviceSpdOptions = {},
  ): Promise<DeviceSpdBatch> {
    const b = options.blockSize ?? deviceBlockSize();
    if (!Number.isInteger(b) || b < 1) throw new Error(`DeviceSpdBatch: block size must be a positive integer, got ${b}`);
    if (k.dims.length !== 2 || k.dims[0] !== n || k.dims[1] !== n) throw new Error(`DeviceSpdBatch: K is [${k.dims.join(", ")}], expected [${n}, ${n}]`);
    if (kDiagonal.length !== n) throw new Error(`DeviceSpdBatch: ${kDiagonal.length} diagonal entries for n = ${n}`);
    if (shifts.length === 0) throw new Error("DeviceSpdBatch: no shifts");
    for (const c of shifts) if (!(c >= 0) || !Number.isFinite(c)) throw new Error(`DeviceSpdBatch: shifts must be finite and ≥ 0, got ${c}`);
    const minPivotRatio = options.minPivotRatio ?? DEFAULT_MIN_PIVOT_RATIO;
    const batch = shifts.length;
    const failures: (SingularKernelError | null)[] = shifts.map(() => null);
    const inverses: Float32Array[] = [];
    const panels: DeviceTensor[] = [];

    const pool = await sharedBlockFactorPool();
    if (shifts.length > 1) pool.start(); // the workers load during the first run
    /** D = L⁻¹ of block rows [j0, j0 + bj) for every live shift, from T (one block shared by all at the first step, else one per shift). */
    const factorBlocks = async (t: Float32Array, j0: number, bj: number, sharedBlock: boolean): Promise<Float32Array> => {
      const live = shifts.map((_, i) => i).filter((i) => failures[i] === null);
      const results = await pool.factorAll(live.map((i) => {
        const offset = sharedBlock ? 0 : i * bj * bj;
        const diagonal = new Float64Array(bj);
        for (let r = 0; r < bj; r++) diagonal[r] = kDiagonal[j0 + r] + shifts[i];
        return { block: t.slice(offset, offset + bj * bj), b: bj, j0, shift: shifts[i], diagonal, minPivotRatio };
      }));
      // A failed shift gets the identity, so the rest of its batch carries on (its results are garbage).
      const d = new Float32Array(batch * bj * bj);
      for (let i = 0; i < batch; i++) for (let r = 0; r < bj; r++) d[i * bj * bj + r * bj + r] = 1;
      live.forEach((i, at) => {
        const r = results[at];
        if (r.inverse) d.set(r.inverse, i * bj * bj);
        else failures[i] = new SingularKernelError(r.failure!);
      });
      return d;
    };
    const top = await backend.session(sharedGraphSpec(`spd_top_block_b${b}`, () => topBlockGraph(b)));
    const first = Math.min(b, n);
    let pending = factorBlocks(((await backend.runDevice(top, { K: k })).T as TensorArg).data as Float32Array, 0, first, true);
    let shared = true; // the first block is K's own, the same for every shift
    let s: DeviceTensor | null = null;
    for (let j0 = 0; j0 < n; j0 += b) {
      const bj = Math.min(b, n - j0);
      const t0 = performance.now();
      const d = await pending;
      if (options.timings) options.timings["factor:host-wait"] = (options.timings["factor:host-wait"] ?? 0) + (performance.now() - t0) / 1000;
      inverses.push(d);
      if (j0 + bj >= n) break;
      // The panel and the next diagonal block first; the host factors that block
      // on its workers while the device runs the large trailing update.
      const panel = await backend.session(sharedGraphSpec(`spd_panel_b${b}${shared ? "_first" : ""}`, () => panelGraph(b, shared)), { deviceOutputs: ["P"] });
      const out = await backend.runDevice(panel, { S: s ?? k, D: { data: d, dims: [batch, bj, bj] } });
      const p = out.P as DeviceTensor;
      pending = factorBlocks((out.T as TensorArg).data as Float32Array, j0 + bj, Math.min(b, n - j0 - bj), false);
      const trailing = await backend.session(sharedGraphSpec(`spd_trailing_b${b}${shared ? "_first" : ""}`, () => trailingGraph(b, shared)), { deviceOutputs: ["NEXT"] });
      const next = (await backend.runDevice(trailing, { S: s ?? k, P: p })).NEXT as DeviceTensor;
      s?.dispose();
      s = next;
      panels.push(p);
      shared = false;
    }
    s?.dispose();
    return new DeviceSpdBatch(backend, n, b, [...shifts], failures, k, inverses, panels);
  }

  /** α_i = (K + c_i·I)⁻¹ X for every shift: [shifts, n, m] on the device, and each shift's relative residual on `columns`. */
  async solve(x: DeviceTensor, m: number, options: DeviceSolveOptions): Promise<{ alpha: DeviceTensor; residuals: number[] }> {
    if (this.panels.length + 1 !== this.inverses.length) throw new Error("DeviceSpdBatch.solve: the factors were disposed");
    if (x.dims.length !== 2 || x.dims[0] !== this.n || x.dims[1] !== m) throw new Error(`DeviceSpdBatch.solve: X is [${x.dims.join(", ")}], expected [${this.n}, ${m}]`);
    const cols = Array.from(options.columns);
    if (cols.length === 0) throw new Error("DeviceSpdBatch.solve: no residual columns");
    for (const c of cols) if (!Number.isInteger(c) || c < 0 || c >= m) throw new Error(`DeviceSpdBatch.solve: residual column ${c} is outside [0, ${m})`);
    const blocks = this.inverses.length;
    const b = this.blockSize;
    const batch = this.shifts.length;
    const session = await this.backend.session(sharedGraphSpec(`spd_solve_b${b}_k${blocks}`, () => solveGraph(b, blocks)), { deviceOutputs: ["A"] });
    const feeds: Record<string, TensorArg | DeviceTensor> = {
      X: x,
      K: this.k,
      C: { data: Float32Array.from(this.shifts), dims: [batch] },
      COLS: { data: BigInt64Array.from(cols.map((c) => BigInt(c))), dims: [cols.length] },
    };
    for (let i = 0; i < blocks; i++) {
      const bi = Math.min(b, this.n - i * b);
      feeds[`D${i}`] = { data: this.inverses[i], dims: [batch, bi, bi] };
    }
    this.panels.forEach((p, i) => (feeds[`P${i}`] = p));
    const out = await this.backend.runDevice(session, feeds);
    return { alpha: out.A as DeviceTensor, residuals: Array.from((out.R as TensorArg).data as Float32Array) };
  }

  /** Frees the panels on the device (the inverses are host memory). */
  dispose(): void {
    for (const p of this.panels) p.dispose();
    this.panels = [];
  }
}
