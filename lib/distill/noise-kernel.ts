/**
 * The per-entry work of DISTILL-CF's Gumbel sampling (fast-sample.ts) as a
 * WebAssembly SIMD kernel emitted from this file (lib/wasm/module.ts):
 *
 * - `gen`: E_k = F(u) for a run of entries, the same values fast-sample.ts's
 *   `fillE` computes (the counter hash four entries at a time in i32x4 lanes,
 *   then the table interpolation per entry in float64, the tails through the
 *   host's Math.log/Math.exp: bit-identical to the TypeScript path);
 * - `dot`: ⟨a, b⟩ in float64x2 (two accumulators, so the sum's rounding
 *   differs from a sequential loop at the 1e-16 level);
 * - `axpy`: y += x·α in float64x2 (bit-identical to the scalar loop).
 *
 * Why: regenerating γ·μ·I noise values (ML-1M: 370 M per pass) costs ≈ 10 ns
 * each in TypeScript, most of it in the 32-bit hash and bounds-checked loads;
 * here the hash runs four lanes wide and the loops carry no bounds checks.
 *
 * Memory layout (one module instance per thread): the τ table at byte 0
 * (2·2^16 float64), then per-call buffers placed by `NoiseKernel.layout`.
 */
import { f32, f64, FunctionBody, i32, ModuleBuilder, v128 } from "../wasm/module.ts";
import type { NoiseTable } from "./fast-sample.ts";

const TABLE_BYTES = 2 * 65536 * 8;
const PAGE = 65536;
const INV_2_32 = 2.3283064365386963e-10;
const MIX_A = 0x7feb352d;
const MIX_B = 0x846ca68b | 0;

/**
 * Emits x ^= x >>> 16; x *= A; x ^= x >>> 15; x *= B; x ^= x >>> 16 on the
 * v128 local `x` (A, B splatted once into the locals `mixA`, `mixB`).
 */
function mixLanes(f: FunctionBody, x: string): void {
  const xorShift = (s: number): void => {
    f.get(x).get(x).i32(s).simd("i32x4.shr_u").simd("v128.xor").set(x);
  };
  xorShift(16);
  f.get(x).get("mixA").simd("i32x4.mul").set(x);
  xorShift(15);
  f.get(x).get("mixB").simd("i32x4.mul").set(x);
  xorShift(16);
}

function buildModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  const exact = m.importFunction("host", "exact", [i32], [f64]);
  m.importMemory("host", "memory", 1);

  // gen(n, offset, k0, k1, e, lo, span): e[i] = E of entry offset + i, i < n.
  const gen = new FunctionBody(
    [["n", i32], ["offset", i32], ["k0", i32], ["k1", i32], ["e", i32], ["lo", i32], ["span", i32]],
    [],
  );
  gen.local("i", i32);
  gen.local("x", v128);
  gen.local("h", i32);
  gen.local("j", i32);
  gen.local("p", i32);
  gen.local("addr", i32);
  gen.local("pv", v128);
  gen.local("tv", v128);
  gen.local("a", v128);
  gen.local("b", v128);
  for (const [local, value] of [["mixA", MIX_A], ["mixB", MIX_B], ["k0v", "k0"], ["k1v", "k1"], ["lov", "lo"], ["spanv", "span"], ["low16", 0xffff]] as const) {
    gen.local(local, v128);
    if (typeof value === "number") gen.i32(value);
    else gen.get(value);
    gen.simd("i32x4.splat").set(local);
  }
  gen.local("idx", v128);
  gen.local("half", v128);
  gen.local("scale", v128);
  gen.f64(0.5).simd("f64x2.splat").set("half");
  gen.f64(1 / 65536).simd("f64x2.splat").set("scale");
  gen.get("offset").simd("i32x4.splat").i32x4(0, 1, 2, 3).simd("i32x4.add").set("idx");
  const hashLanes = (): void => {
    // x = ((offset + i + lane) ^ k0), mixed; + k1; mixed. idx holds offset + i + lane.
    gen.get("idx").get("k0v").simd("v128.xor").set("x");
    mixLanes(gen, "x");
    gen.get("x").get("k1v").simd("i32x4.add").set("x");
    mixLanes(gen, "x");
  };
  // One lane the scalar way (exact tails through the host); `guard`: only if i + lane < n.
  const scalarLane = (lane: number, guard: boolean): void => {
    if (guard) gen.get("i").i32(lane).op("i32.add").get("n").op("i32.lt_u").open("if");
    gen.get("e").get("i").i32(lane).op("i32.add").i32(3).op("i32.shl").op("i32.add").set("addr");
    gen.get("x").simd("i32x4.extract_lane", lane).tee("h").i32(16).op("i32.shr_u").tee("j");
    // (j − lo) >u span: outside the interpolated buckets.
    gen.get("lo").op("i32.sub").get("span").op("i32.gt_u").open("if");
    gen.get("addr").get("h").call(exact).mem("f64.store");
    gen.op("else");
    gen.get("addr");
    gen.get("j").i32(4).op("i32.shl").tee("p").mem("f64.load");
    gen.get("p").mem("f64.load", 8);
    gen.get("h").i32(0xffff).op("i32.and").op("f64.convert_i32_u").f64(0.5).op("f64.add").f64(1 / 65536).op("f64.mul");
    gen.op("f64.mul").op("f64.add").mem("f64.store");
    gen.op("end");
    if (guard) gen.op("end");
  };
  const lowBytes = [0, 1, 2, 3, 4, 5, 6, 7];
  const highBytes = [8, 9, 10, 11, 12, 13, 14, 15];
  // Two lanes' interpolation in float64x2 from `t` (f64x2 on the stack) and byte offsets pv[l0], pv[l1].
  const pairLanes = (l0: number, l1: number, storeOffset: number): void => {
    gen.get("pv").simd("i32x4.extract_lane", l0).simd("v128.load").set("a"); // (c0, c1) of lane l0
    gen.get("pv").simd("i32x4.extract_lane", l1).simd("v128.load").set("b");
    // t on the stack → (t + 0.5)/2^16; then c0 + c1·t.
    gen.get("half").simd("f64x2.add").get("scale").simd("f64x2.mul");
    gen.get("a").get("b").simd("i8x16.shuffle", ...highBytes, ...highBytes.map((v) => v + 16));
    gen.simd("f64x2.mul");
    gen.get("a").get("b").simd("i8x16.shuffle", ...lowBytes, ...lowBytes.map((v) => v + 16));
    gen.simd("f64x2.add").set("a");
    gen.get("e").get("i").i32(3).op("i32.shl").op("i32.add").get("a").simd("v128.store", storeOffset);
  };
  // Whole groups of four.
  gen.open("block").open("loop");
  gen.get("i").i32(4).op("i32.add").get("n").op("i32.gt_u").br("br_if", 1);
  hashLanes();
  gen.get("x").i32(16).simd("i32x4.shr_u").set("pv"); // bucket j
  gen.get("pv").get("lov").simd("i32x4.sub").get("spanv").simd("i32x4.gt_u").simd("v128.any_true");
  gen.open("if");
  for (let lane = 0; lane < 4; lane++) scalarLane(lane, false);
  gen.op("else");
  gen.get("pv").i32(4).simd("i32x4.shl").set("pv"); // byte offset of (c0, c1)
  gen.get("x").get("low16").simd("v128.and").set("tv");
  // Signed conversion (one instruction on x64; the unsigned one is emulated): the values are < 2^16.
  gen.get("tv").simd("f64x2.convert_low_i32x4_s");
  pairLanes(0, 1, 0);
  gen.get("tv").get("tv").simd("i8x16.shuffle", ...highBytes, ...lowBytes).simd("f64x2.convert_low_i32x4_s");
  pairLanes(2, 3, 16);
  gen.op("end");
  gen.get("idx").i32(4).simd("i32x4.splat").simd("i32x4.add").set("idx");
  gen.get("i").i32(4).op("i32.add").set("i").br("br", 0);
  gen.op("end").op("end");
  // The last partial group.
  gen.get("i").get("n").op("i32.lt_u").open("if");
  hashLanes();
  for (let lane = 0; lane < 3; lane++) scalarLane(lane, true);
  gen.op("end");
  m.define(gen, "gen");

  // dot(a, b, n) → Σ a_i b_i (float64x2, two accumulators).
  const dot = new FunctionBody([["a", i32], ["b", i32], ["n", i32]], [f64]);
  dot.local("i", i32);
  dot.local("s0", v128);
  dot.local("s1", v128);
  dot.local("r", f64);
  dot.local("o", i32);
  dot.f64(0).simd("f64x2.splat").tee("s0").set("s1");
  dot.open("block").open("loop");
  dot.get("i").i32(4).op("i32.add").get("n").op("i32.gt_u").br("br_if", 1);
  dot.get("i").i32(3).op("i32.shl").set("o");
  dot.get("s0").get("a").get("o").op("i32.add").simd("v128.load").get("b").get("o").op("i32.add").simd("v128.load").simd("f64x2.mul").simd("f64x2.add").set("s0");
  dot.get("s1").get("a").get("o").op("i32.add").simd("v128.load", 16).get("b").get("o").op("i32.add").simd("v128.load", 16).simd("f64x2.mul").simd("f64x2.add").set("s1");
  dot.get("i").i32(4).op("i32.add").set("i").br("br", 0);
  dot.op("end").op("end");
  dot.get("s0").get("s1").simd("f64x2.add").tee("s0").simd("f64x2.extract_lane", 0).get("s0").simd("f64x2.extract_lane", 1).op("f64.add").set("r");
  dot.open("block").open("loop");
  dot.get("i").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  dot.get("i").i32(3).op("i32.shl").set("o");
  dot.get("r").get("a").get("o").op("i32.add").mem("f64.load").get("b").get("o").op("i32.add").mem("f64.load").op("f64.mul").op("f64.add").set("r");
  dot.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  dot.op("end").op("end");
  dot.get("r");
  m.define(dot, "dot");

  // axpy(y, x, n, alpha): y_i += x_i·alpha.
  const axpy = new FunctionBody([["y", i32], ["x", i32], ["n", i32], ["alpha", f64]], []);
  axpy.local("i", i32);
  axpy.local("av", v128);
  axpy.local("o", i32);
  axpy.get("alpha").simd("f64x2.splat").set("av");
  axpy.open("block").open("loop");
  axpy.get("i").i32(2).op("i32.add").get("n").op("i32.gt_u").br("br_if", 1);
  axpy.get("i").i32(3).op("i32.shl").set("o");
  axpy.get("y").get("o").op("i32.add");
  axpy.get("y").get("o").op("i32.add").simd("v128.load").get("x").get("o").op("i32.add").simd("v128.load").get("av").simd("f64x2.mul").simd("f64x2.add");
  axpy.simd("v128.store");
  axpy.get("i").i32(2).op("i32.add").set("i").br("br", 0);
  axpy.op("end").op("end");
  axpy.open("block").open("loop");
  axpy.get("i").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  axpy.get("i").i32(3).op("i32.shl").set("o");
  axpy.get("y").get("o").op("i32.add");
  axpy.get("y").get("o").op("i32.add").mem("f64.load").get("x").get("o").op("i32.add").mem("f64.load").get("alpha").op("f64.mul").op("f64.add");
  axpy.mem("f64.store");
  axpy.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  axpy.op("end").op("end");
  m.define(axpy, "axpy");

  // toFloat32(x, y, n): y_i = f32(x_i) (float32 at y) and x_i = f64(y_i): the values a float32 noise store keeps.
  const toF32 = new FunctionBody([["x", i32], ["y", i32], ["n", i32]], []);
  toF32.local("i", i32);
  toF32.local("o", i32);
  toF32.local("v", f32);
  toF32.open("block").open("loop");
  toF32.get("i").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  toF32.get("x").get("i").i32(3).op("i32.shl").op("i32.add").tee("o");
  toF32.get("o").mem("f64.load").op("f32.demote_f64").tee("v").op("f64.promote_f32").mem("f64.store");
  toF32.get("y").get("i").i32(2).op("i32.shl").op("i32.add").get("v").mem("f32.store");
  toF32.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  toF32.op("end").op("end");
  m.define(toF32, "toFloat32");

  // fromFloat32(y, x, n): x_i = f64(y_i), y float32.
  const fromF32 = new FunctionBody([["y", i32], ["x", i32], ["n", i32]], []);
  fromF32.local("i", i32);
  fromF32.open("block").open("loop");
  fromF32.get("i").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  fromF32.get("x").get("i").i32(3).op("i32.shl").op("i32.add");
  fromF32.get("y").get("i").i32(2).op("i32.shl").op("i32.add").mem("f32.load").op("f64.promote_f32").mem("f64.store");
  fromF32.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  fromF32.op("end").op("end");
  m.define(fromF32, "fromFloat32");
  return m.encode();
}

interface KernelExports {
  gen(n: number, offset: number, k0: number, k1: number, e: number, lo: number, span: number): void;
  dot(a: number, b: number, n: number): number;
  axpy(y: number, x: number, n: number, alpha: number): void;
  toFloat32(x: number, y: number, n: number): void;
  fromFloat32(y: number, x: number, n: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where this runtime lacks WebAssembly SIMD. */
function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (typeof WebAssembly !== "object") return null;
  const bytes = buildModule();
  if (!WebAssembly.validate(bytes)) return null;
  compiled = new WebAssembly.Module(bytes);
  return compiled;
}

/** Whether the WebAssembly noise kernel can run here. */
export function noiseKernelAvailable(): boolean {
  return kernelModule() !== null;
}

/** The module's bytes (for tests and size reports). */
export function noiseKernelBytes(): Uint8Array {
  return buildModule();
}

/**
 * One instance of the kernel (one per thread) with its memory. Typed-array
 * views returned by `layout` stay valid until the next `layout` call that
 * grows the memory.
 */
export class NoiseKernel {
  private readonly memory: WebAssembly.Memory;
  private readonly fns: KernelExports;
  private invTau = 1;
  private tableTau = Number.NaN;
  private lo = 0;
  private span = -1;

  private constructor(module: WebAssembly.Module) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(TABLE_BYTES / PAGE) + 1 });
    const exact = (h: number): number => Math.exp(-this.invTau * Math.log(-Math.log(((h >>> 0) + 0.5) * INV_2_32)));
    const instance = new WebAssembly.Instance(module, { host: { exact, memory: this.memory } });
    this.fns = instance.exports as unknown as KernelExports;
  }

  /** A new instance, or null where WebAssembly SIMD is unavailable. */
  static create(): NoiseKernel | null {
    const m = kernelModule();
    return m ? new NoiseKernel(m) : null;
  }

  /** Loads τ's table (no-op when it is already loaded). */
  useTable(table: NoiseTable): void {
    if (table.tau === this.tableTau) return;
    new Float64Array(this.memory.buffer, 0, 2 * 65536).set(table.coef);
    this.invTau = 1 / table.tau;
    this.tableTau = table.tau;
    // An empty interpolated range (hi < lo) makes every entry exact.
    this.lo = table.hi >= table.lo ? table.lo : 0;
    this.span = table.hi >= table.lo ? table.hi - table.lo : -1;
  }

  /**
   * Float64 buffers of the given lengths after the table, 16-byte aligned;
   * returns their byte offsets and views.
   */
  layout(lengths: readonly number[]): { offsets: number[]; views: Float64Array[] } {
    const offsets: number[] = [];
    let at = TABLE_BYTES;
    for (const n of lengths) {
      offsets.push(at);
      at += Math.ceil((n * 8) / 16) * 16;
    }
    const need = Math.ceil(at / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > have) this.memory.grow(need - have);
    return { offsets, views: lengths.map((n, i) => new Float64Array(this.memory.buffer, offsets[i], n)) };
  }

  /** E of entries offset … offset + n − 1 under keys (k0, k1), at byte offset `e`. */
  gen(n: number, offset: number, k0: number, k1: number, e: number): void {
    // span −1 as unsigned is 2^32 − 1: every entry would interpolate; guard here instead.
    if (this.span < 0) {
      const view = new Float64Array(this.memory.buffer, e, n);
      for (let i = 0; i < n; i++) view[i] = this.exactWord(offset + i, k0, k1);
      return;
    }
    this.fns.gen(n, offset, k0 | 0, k1 | 0, e, this.lo, this.span);
  }

  private exactWord(idx: number, k0: number, k1: number): number {
    let x = (idx ^ k0) >>> 0;
    x = mix32(x);
    x = mix32((x + k1) >>> 0);
    return Math.exp(-this.invTau * Math.log(-Math.log((x + 0.5) * INV_2_32)));
  }

  dot(a: number, b: number, n: number): number {
    return this.fns.dot(a, b, n);
  }

  axpy(y: number, x: number, n: number, alpha: number): void {
    this.fns.axpy(y, x, n, alpha);
  }

  /** Rounds n float64 values at byte offset x to float32 in place, writing the float32 values at byte offset y. */
  toFloat32(x: number, y: number, n: number): void {
    this.fns.toFloat32(x, y, n);
  }

  /** Widens n float32 values at byte offset y into float64 at byte offset x. */
  fromFloat32(y: number, x: number, n: number): void {
    this.fns.fromFloat32(y, x, n);
  }

  /** A float32 view of kernel memory (invalid after a growing `layout`). */
  float32View(byteOffset: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, byteOffset, n);
  }
}

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, MIX_A);
  x ^= x >>> 15;
  x = Math.imul(x, MIX_B);
  x ^= x >>> 16;
  return x >>> 0;
}
