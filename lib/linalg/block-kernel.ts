/**
 * The blocked Cholesky's float64 diagonal-block work in WebAssembly: the factor
 * of one b × b block and its triangular inverse, the serial part of every
 * factorisation (host engine, device engine, EASE). Written with
 * lib/wasm/module.ts like the DISTILL-CF noise kernel.
 *
 * Same arithmetic in the same order as choleskyFactorInto and
 * invertLowerTriangular (cholesky.ts): the dot products keep the TypeScript
 * loop's four partial sums (s0, s1) and (s2, s3) as two float64x2 lanes, add
 * the tail to s0 and return (s0 + s1) + (s2 + s3); no fused multiply-adds. So
 * the results are the TypeScript loops' bit for bit (tests/linalg/block-kernel.test.ts),
 * and the TypeScript stays the fallback where WebAssembly SIMD is missing.
 */
import { f64, FunctionBody, i32, ModuleBuilder, v128 } from "../wasm/module.ts";
import { type CholeskyFactorOptions, type DiagonalBlockFactor, SingularKernelError } from "./cholesky.ts";

const PAGE = 65536;
/** Byte offset of the result slots (minimum ratio, failing pivot), then the blocks. */
const SLOTS = 0;
const DATA = 64;

function buildModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  m.importMemory("host", "memory", 1);

  // dot(x, y, n): Σ x_p y_p over float64 at byte addresses x, y, in the TypeScript dot's order.
  const dot = new FunctionBody([["x", i32], ["y", i32], ["n", i32]], [f64]);
  dot.local("p", i32);
  dot.local("o", i32);
  dot.local("a", v128); // (s0, s1)
  dot.local("b", v128); // (s2, s3)
  dot.local("s0", f64);
  dot.f64(0).simd("f64x2.splat").tee("a").set("b");
  dot.open("block").open("loop");
  dot.get("p").i32(3).op("i32.add").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1); // p + 3 < n
  dot.get("p").i32(3).op("i32.shl").set("o");
  dot.get("a").get("x").get("o").op("i32.add").simd("v128.load").get("y").get("o").op("i32.add").simd("v128.load").simd("f64x2.mul").simd("f64x2.add").set("a");
  dot.get("b").get("x").get("o").op("i32.add").simd("v128.load", 16).get("y").get("o").op("i32.add").simd("v128.load", 16).simd("f64x2.mul").simd("f64x2.add").set("b");
  dot.get("p").i32(4).op("i32.add").set("p").br("br", 0);
  dot.op("end").op("end");
  dot.get("a").simd("f64x2.extract_lane", 0).set("s0");
  dot.open("block").open("loop");
  dot.get("p").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  dot.get("p").i32(3).op("i32.shl").set("o");
  dot.get("s0").get("x").get("o").op("i32.add").mem("f64.load").get("y").get("o").op("i32.add").mem("f64.load").op("f64.mul").op("f64.add").set("s0");
  dot.get("p").i32(1).op("i32.add").set("p").br("br", 0);
  dot.op("end").op("end");
  dot.get("s0").get("a").simd("f64x2.extract_lane", 1).op("f64.add");
  dot.get("b").simd("f64x2.extract_lane", 0).get("b").simd("f64x2.extract_lane", 1).op("f64.add");
  dot.op("f64.add");
  const dotIndex = m.define(dot, "dot");

  // chol(a, n, diag, shift, ratio) → −1, or the row whose pivot fails: the lower factor of
  // A + shift·I in place over A (zeros above), minimum pivot/diagonal ratio at SLOTS, a failing
  // pivot at SLOTS + 8 (choleskyFactorInto).
  const chol = new FunctionBody([["a", i32], ["n", i32], ["diag", i32], ["shift", f64], ["ratio", f64]], [i32]);
  for (const [nm, t] of [["i", i32], ["j", i32], ["ri", i32], ["rj", i32], ["d", f64], ["dg", f64], ["minr", f64]] as const) chol.local(nm, t);
  const addr = (row: string, col: string): void => void chol.get(row).get(col).op("i32.add").i32(3).op("i32.shl").get("a").op("i32.add");
  chol.f64(Infinity).set("minr");
  chol.open("block").open("loop"); // i
  chol.get("i").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  chol.get("i").get("n").op("i32.mul").set("ri");
  chol.i32(0).set("j");
  chol.open("block").open("loop"); // j < i
  chol.get("j").get("i").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  chol.get("j").get("n").op("i32.mul").set("rj");
  addr("ri", "j"); // store address
  addr("ri", "j");
  chol.mem("f64.load");
  chol.get("ri").i32(3).op("i32.shl").get("a").op("i32.add").get("rj").i32(3).op("i32.shl").get("a").op("i32.add").get("j").call(dotIndex);
  chol.op("f64.sub");
  addr("rj", "j");
  chol.mem("f64.load").op("f64.div").mem("f64.store");
  chol.get("j").i32(1).op("i32.add").set("j").br("br", 0);
  chol.op("end").op("end");
  // d = a[ri + i] + shift − dot(l_i, l_i, i)
  addr("ri", "i");
  chol.mem("f64.load").get("shift").op("f64.add");
  chol.get("ri").i32(3).op("i32.shl").get("a").op("i32.add").tee("rj").get("rj").get("i").call(dotIndex);
  chol.op("f64.sub").set("d");
  chol.get("diag").get("i").i32(3).op("i32.shl").op("i32.add").mem("f64.load").set("dg");
  // !(d > 0 && dg > 0 && d > ratio·dg), NaN included
  chol.get("d").f64(0).op("f64.gt").get("dg").f64(0).op("f64.gt").op("i32.and").get("d").get("ratio").get("dg").op("f64.mul").op("f64.gt").op("i32.and").op("i32.eqz");
  chol.open("if");
  chol.i32(SLOTS + 8).get("d").mem("f64.store");
  chol.get("i").op("return");
  chol.op("end");
  chol.get("minr").get("d").get("dg").op("f64.div").op("f64.min").set("minr");
  addr("ri", "i");
  chol.get("d").op("f64.sqrt").mem("f64.store");
  chol.get("i").i32(1).op("i32.add").set("j");
  chol.open("block").open("loop"); // zeros above the diagonal
  chol.get("j").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  addr("ri", "j");
  chol.f64(0).mem("f64.store");
  chol.get("j").i32(1).op("i32.add").set("j").br("br", 0);
  chol.op("end").op("end");
  chol.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  chol.op("end").op("end");
  chol.i32(SLOTS).get("minr").mem("f64.store");
  chol.i32(-1);
  m.define(chol, "chol");

  // invT(l, t, b): row c of t = column c of L⁻¹ (invertLowerTriangular's t).
  const inv = new FunctionBody([["l", i32], ["t", i32], ["b", i32]], []);
  for (const [nm, t] of [["c", i32], ["i", i32], ["rc", i32]] as const) inv.local(nm, t);
  const at = (base: string, idx: () => void): void => {
    idx();
    inv.i32(3).op("i32.shl").get(base).op("i32.add");
  };
  inv.open("block").open("loop"); // c
  inv.get("c").get("b").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  inv.get("c").get("b").op("i32.mul").set("rc");
  at("t", () => inv.get("rc").get("c").op("i32.add"));
  inv.f64(1);
  at("l", () => inv.get("c").get("b").op("i32.mul").get("c").op("i32.add"));
  inv.mem("f64.load").op("f64.div").mem("f64.store");
  inv.get("c").i32(1).op("i32.add").set("i");
  inv.open("block").open("loop"); // i > c
  inv.get("i").get("b").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  at("t", () => inv.get("rc").get("i").op("i32.add"));
  at("l", () => inv.get("i").get("b").op("i32.mul").get("c").op("i32.add"));
  at("t", () => inv.get("rc").get("c").op("i32.add"));
  inv.get("i").get("c").op("i32.sub").call(dotIndex).op("f64.neg");
  at("l", () => inv.get("i").get("b").op("i32.mul").get("i").op("i32.add"));
  inv.mem("f64.load").op("f64.div").mem("f64.store");
  inv.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  inv.op("end").op("end");
  inv.get("c").i32(1).op("i32.add").set("c").br("br", 0);
  inv.op("end").op("end");
  m.define(inv, "invT");
  return m.encode();
}

interface Exports {
  dot(x: number, y: number, n: number): number;
  chol(a: number, n: number, diag: number, shift: number, ratio: number): number;
  invT(l: number, t: number, b: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** Diagonal blocks factored in WebAssembly; one per thread (blockKernel()). */
export class BlockKernel {
  private constructor(private readonly memory: WebAssembly.Memory, private readonly fns: Exports) {}

  /** A kernel, or null where WebAssembly SIMD is unavailable (the TypeScript loops then run). */
  static create(): BlockKernel | null {
    if (compiled === undefined) {
      compiled = null;
      try {
        const bytes = buildModule();
        if (typeof WebAssembly !== "undefined" && WebAssembly.validate(bytes)) compiled = new WebAssembly.Module(bytes);
      } catch {
        compiled = null;
      }
    }
    if (compiled === null) return null;
    const memory = new WebAssembly.Memory({ initial: 1 });
    return new BlockKernel(memory, new WebAssembly.Instance(compiled, { host: { memory } }).exports as unknown as Exports);
  }

  private floats(bytes: number): Float64Array {
    const need = DATA + bytes;
    if (this.memory.buffer.byteLength < need) this.memory.grow(Math.ceil((need - this.memory.buffer.byteLength) / PAGE));
    return new Float64Array(this.memory.buffer);
  }

  /** ⟨x, y⟩ in the TypeScript dot's order (for tests). */
  dot(x: ArrayLike<number>, y: ArrayLike<number>): number {
    const n = x.length;
    const heap = this.floats(16 * n);
    const base = DATA / 8;
    for (let p = 0; p < n; p++) {
      heap[base + p] = x[p];
      heap[base + n + p] = y[p];
    }
    return this.fns.dot(DATA, DATA + 8 * n, n);
  }

  /**
   * Factors A + shift·I (A's lower triangle read, n × n) and inverts the factor
   * in the module's memory; returns the heap and the float offsets of L and of
   * T (row c = column c of L⁻¹). Throws SingularKernelError naming row
   * `offset` + i when a pivot fails against `diagonal`.
   */
  private factorAndInvert(
    a: ArrayLike<number>, n: number, shift: number, diagonal: (i: number) => number, minPivotRatio: number, offset: number,
  ): { heap: Float64Array; l: number; t: number; minRatio: number } {
    const nn = n * n;
    const heap = this.floats(8 * (2 * nn + n));
    const l = DATA / 8;
    const dg = l + nn;
    const t = dg + n;
    for (let i = 0; i < n; i++) {
      const r = l + i * n;
      for (let c = 0; c <= i; c++) heap[r + c] = a[i * n + c];
      heap[dg + i] = diagonal(i);
    }
    const failed = this.fns.chol(8 * l, n, 8 * dg, shift, minPivotRatio);
    if (failed >= 0) {
      throw new SingularKernelError({ kind: "pivot", index: offset + failed, pivot: heap[SLOTS / 8 + 1], diagonal: heap[dg + failed], minPivotRatio });
    }
    const minRatio = heap[SLOTS / 8];
    this.fns.invT(8 * l, 8 * t, n);
    return { heap, l, t, minRatio };
  }

  /**
   * L (lower, float32) and D = L⁻¹ of a diagonal block: `block` is b × b
   * row-major (lower triangle read), the shift not yet added; `diagonal` is the
   * pivot test's reference (the matrix's diagonal plus the shift). Throws
   * SingularKernelError naming row `offset` + i when a pivot fails.
   */
  factorInverse(block: Float32Array, b: number, shift: number, diagonal: ArrayLike<number>, minPivotRatio: number, offset: number, withFactor: boolean): DiagonalBlockFactor {
    const { heap, l, t, minRatio } = this.factorAndInvert(block, b, shift, (i) => diagonal[i], minPivotRatio, offset);
    const inverse = new Float32Array(b * b);
    for (let i = 0; i < b; i++) for (let c = 0; c <= i; c++) inverse[i * b + c] = heap[t + c * b + i];
    const factor = new Float32Array(withFactor ? b * b : 0);
    if (withFactor) for (let i = 0; i < b; i++) for (let c = 0; c <= i; c++) factor[i * b + c] = heap[l + i * b + c];
    return { factor, inverse, minRatio };
  }

  /**
   * invertLowerTriangular(choleskyFactor(a, n, options), n) bit for bit: L⁻¹ of
   * A + shift·I in float64 (row-major, zeros above the diagonal; A's lower
   * triangle read). Throws SingularKernelError as choleskyFactorInto does.
   */
  inverseFactor(a: ArrayLike<number>, n: number, options: CholeskyFactorOptions = {}): Float64Array {
    if (a.length !== n * n) throw new Error(`inverseFactor: A has ${a.length} entries, expected ${n}×${n}`);
    const shift = options.shift ?? 0;
    const diagonal = options.diagonal;
    const { heap, t } = this.factorAndInvert(a, n, shift, diagonal ? (i) => diagonal[i] : (i) => a[i * n + i] + shift, options.minPivotRatio ?? 0, options.offset ?? 0);
    const inv = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let c = 0; c <= i; c++) inv[i * n + c] = heap[t + c * n + i];
    return inv;
  }
}

let shared: BlockKernel | null | undefined;

/** This thread's kernel (null without WebAssembly SIMD). */
export function blockKernel(): BlockKernel | null {
  if (shared === undefined) shared = BlockKernel.create();
  return shared;
}
