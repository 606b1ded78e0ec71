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
 * - `axpy`: y += x·α in float64x2 (bit-identical to the scalar loop);
 * - `dot32`, `axpy32`: the same with a float32 operand (a noise store read in
 *   place), `toFloat32` / `fromFloat32`: the store's rounding and widening.
 *
 * Why: regenerating γ·μ·I noise values (ML-1M: 370 M per pass) costs ≈ 10 ns
 * each in TypeScript, most of it in the 32-bit hash and bounds-checked loads;
 * here ≈ 3 ns: the hash runs four lanes wide and the loops carry no bounds
 * checks (an A/B of a three-pass, branch-free variant was no faster).
 *
 * Memory: one kernel per thread, either on its own growing memory (the τ
 * table at byte 0, 2·2^16 float64, then the buffers `layout` places) or on a
 * page-aligned region of a shared memory (`sharedNoiseMemory`: one region per
 * sampling worker, then the float32 noise store, which the workers' kernels
 * write in the forward and read in the backward without copies). Two module
 * variants are built: private memory, and shared memory (max 4 GiB).
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

/** Largest shared memory the shared variant accepts (wasm32: 4 GiB). */
const MAX_SHARED_PAGES = 65536;

function buildModule(shared: boolean): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  const exact = m.importFunction("host", "exact", [i32], [f64]);
  m.importMemory("host", "memory", 1, shared ? MAX_SHARED_PAGES : null);

  // gen(n, offset, k0, k1, e, lo, span): e[i] = E of entry offset + i, i < n.
  const gen = new FunctionBody(
    [["n", i32], ["offset", i32], ["k0", i32], ["k1", i32], ["e", i32], ["lo", i32], ["span", i32], ["tb", i32]],
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
    gen.get("j").i32(4).op("i32.shl").get("tb").op("i32.add").tee("p").mem("f64.load");
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
  gen.get("pv").i32(4).simd("i32x4.shl").get("tb").simd("i32x4.splat").simd("i32x4.add").set("pv"); // byte address of (c0, c1)
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

  // dot32(a, b, n) → Σ a_i b_i with b float32 (read from a float32 noise store in place).
  const dot32 = new FunctionBody([["a", i32], ["b", i32], ["n", i32]], [f64]);
  dot32.local("i", i32);
  dot32.local("s0", v128);
  dot32.local("s1", v128);
  dot32.local("r", f64);
  dot32.f64(0).simd("f64x2.splat").tee("s0").set("s1");
  dot32.open("block").open("loop");
  dot32.get("i").i32(4).op("i32.add").get("n").op("i32.gt_u").br("br_if", 1);
  dot32.get("s0").get("a").get("i").i32(3).op("i32.shl").op("i32.add").simd("v128.load");
  dot32.get("b").get("i").i32(2).op("i32.shl").op("i32.add").simd("v128.load64_zero").simd("f64x2.promote_low_f32x4").simd("f64x2.mul").simd("f64x2.add").set("s0");
  dot32.get("s1").get("a").get("i").i32(3).op("i32.shl").op("i32.add").simd("v128.load", 16);
  dot32.get("b").get("i").i32(2).op("i32.shl").op("i32.add").simd("v128.load64_zero", 8).simd("f64x2.promote_low_f32x4").simd("f64x2.mul").simd("f64x2.add").set("s1");
  dot32.get("i").i32(4).op("i32.add").set("i").br("br", 0);
  dot32.op("end").op("end");
  dot32.get("s0").get("s1").simd("f64x2.add").tee("s0").simd("f64x2.extract_lane", 0).get("s0").simd("f64x2.extract_lane", 1).op("f64.add").set("r");
  dot32.open("block").open("loop");
  dot32.get("i").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  dot32.get("r").get("a").get("i").i32(3).op("i32.shl").op("i32.add").mem("f64.load");
  dot32.get("b").get("i").i32(2).op("i32.shl").op("i32.add").mem("f32.load").op("f64.promote_f32").op("f64.mul").op("f64.add").set("r");
  dot32.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  dot32.op("end").op("end");
  dot32.get("r");
  m.define(dot32, "dot32");

  // axpy32(y, x, n, alpha): y_i += x_i·alpha with x float32.
  const axpy32 = new FunctionBody([["y", i32], ["x", i32], ["n", i32], ["alpha", f64]], []);
  axpy32.local("i", i32);
  axpy32.local("av", v128);
  axpy32.local("o", i32);
  axpy32.get("alpha").simd("f64x2.splat").set("av");
  axpy32.open("block").open("loop");
  axpy32.get("i").i32(2).op("i32.add").get("n").op("i32.gt_u").br("br_if", 1);
  axpy32.get("y").get("i").i32(3).op("i32.shl").op("i32.add").tee("o");
  axpy32.get("o").simd("v128.load");
  axpy32.get("x").get("i").i32(2).op("i32.shl").op("i32.add").simd("v128.load64_zero").simd("f64x2.promote_low_f32x4").get("av").simd("f64x2.mul").simd("f64x2.add");
  axpy32.simd("v128.store");
  axpy32.get("i").i32(2).op("i32.add").set("i").br("br", 0);
  axpy32.op("end").op("end");
  axpy32.open("block").open("loop");
  axpy32.get("i").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  axpy32.get("y").get("i").i32(3).op("i32.shl").op("i32.add").tee("o");
  axpy32.get("o").mem("f64.load").get("x").get("i").i32(2).op("i32.shl").op("i32.add").mem("f32.load").op("f64.promote_f32").get("alpha").op("f64.mul").op("f64.add");
  axpy32.mem("f64.store");
  axpy32.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  axpy32.op("end").op("end");
  m.define(axpy32, "axpy32");

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
  gen(n: number, offset: number, k0: number, k1: number, e: number, lo: number, span: number, tb: number): void;
  dot32(a: number, b: number, n: number): number;
  axpy32(y: number, x: number, n: number, alpha: number): void;
  dot(a: number, b: number, n: number): number;
  axpy(y: number, x: number, n: number, alpha: number): void;
  toFloat32(x: number, y: number, n: number): void;
  fromFloat32(y: number, x: number, n: number): void;
}

const compiled = new Map<boolean, WebAssembly.Module | null>();

/** The compiled module (private or shared memory), or null where this runtime lacks WebAssembly SIMD. */
function kernelModule(shared = false): WebAssembly.Module | null {
  const hit = compiled.get(shared);
  if (hit !== undefined) return hit;
  let module: WebAssembly.Module | null = null;
  if (typeof WebAssembly === "object") {
    const bytes = buildModule(shared);
    if (WebAssembly.validate(bytes)) module = new WebAssembly.Module(bytes);
  }
  compiled.set(shared, module);
  return module;
}

/** Whether the WebAssembly noise kernel can run here. */
export function noiseKernelAvailable(): boolean {
  return kernelModule() !== null;
}

/** Whether kernels can share one memory across threads (shared WebAssembly memory and SIMD). */
export function sharedNoiseKernelAvailable(): boolean {
  if (typeof SharedArrayBuffer !== "function") return false;
  try {
    return kernelModule(true) !== null;
  } catch {
    return false;
  }
}

/** The module's bytes (for tests and size reports). */
export function noiseKernelBytes(shared = false): Uint8Array {
  return buildModule(shared);
}

/** Bytes one kernel needs for its table and the per-row buffers of `items` items (a shared memory's per-thread region). */
export function noiseKernelRegionBytes(items: number): number {
  return Math.ceil((TABLE_BYTES + 4 * (Math.ceil((items * 8) / 16) * 16)) / PAGE) * PAGE;
}

/**
 * A shared memory for `threads` kernels (one region each, from byte 0) and a
 * float32 noise store of `storeFloats` values after them, which the kernels
 * then write and read in place (no copies through JavaScript).
 */
export function sharedNoiseMemory(threads: number, items: number, storeFloats: number): { memory: WebAssembly.Memory; storeOffset: number; regionBytes: number } {
  const regionBytes = noiseKernelRegionBytes(items);
  const storeOffset = threads * regionBytes;
  const pages = Math.ceil((storeOffset + 4 * storeFloats) / PAGE);
  if (pages > MAX_SHARED_PAGES) throw new Error(`sharedNoiseMemory: ${threads} regions and ${storeFloats} float32 values need ${pages} pages, over the 4 GiB of a wasm32 memory`);
  return { memory: new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }), storeOffset, regionBytes };
}

/**
 * One instance of the kernel (one per thread) with its memory: its own
 * (growing) memory, or a region [base, base + limit) of a shared one.
 * Typed-array views returned by `layout` stay valid until the next `layout`
 * call that grows a private memory.
 */
export class NoiseKernel {
  private readonly fns: KernelExports;
  private invTau = 1;
  private tableTau = Number.NaN;
  private lo = 0;
  private span = -1;

  private constructor(
    module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    /** Byte offset of this kernel's table; its buffers follow. */
    private readonly base: number,
    /** End of this kernel's region in a shared memory (null: a private memory that grows). */
    private readonly limit: number | null,
  ) {
    const exact = (h: number): number => Math.exp(-this.invTau * Math.log(-Math.log(((h >>> 0) + 0.5) * INV_2_32)));
    const instance = new WebAssembly.Instance(module, { host: { exact, memory } });
    this.fns = instance.exports as unknown as KernelExports;
  }

  /** A new instance with its own memory, or null where WebAssembly SIMD is unavailable. */
  static create(): NoiseKernel | null {
    const m = kernelModule();
    return m ? new NoiseKernel(m, new WebAssembly.Memory({ initial: Math.ceil(TABLE_BYTES / PAGE) + 1 }), 0, null) : null;
  }

  /** An instance on region [base, base + regionBytes) of a shared memory (sharedNoiseMemory), or null. */
  static attach(memory: WebAssembly.Memory, base: number, regionBytes: number): NoiseKernel | null {
    const m = kernelModule(true);
    if (!m) return null;
    if (base % PAGE !== 0 || base + regionBytes > memory.buffer.byteLength) throw new Error(`NoiseKernel.attach: region ${base}+${regionBytes} is not page-aligned inside the ${memory.buffer.byteLength}-byte memory`);
    return new NoiseKernel(m, memory, base, base + regionBytes);
  }

  /** Whether `store` lies in this kernel's memory, so that the *32 functions can read and write it in place. */
  holds(store: Float32Array): boolean {
    return store.buffer === this.memory.buffer;
  }

  /** Loads τ's table (no-op when it is already loaded). */
  useTable(table: NoiseTable): void {
    if (table.tau === this.tableTau) return;
    new Float64Array(this.memory.buffer, this.base, 2 * 65536).set(table.coef);
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
    let at = this.base + TABLE_BYTES;
    for (const n of lengths) {
      offsets.push(at);
      at += Math.ceil((n * 8) / 16) * 16;
    }
    if (this.limit !== null) {
      if (at > this.limit) throw new Error(`NoiseKernel.layout: ${at - this.base} bytes exceed the shared region's ${this.limit - this.base}`);
    } else {
      const need = Math.ceil(at / PAGE);
      const have = this.memory.buffer.byteLength / PAGE;
      if (need > have) this.memory.grow(need - have);
    }
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
    this.fns.gen(n, offset, k0 | 0, k1 | 0, e, this.lo, this.span, this.base);
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

  /** ⟨a, b⟩ with a float64 and b float32, both byte offsets in this memory. */
  dot32(a: number, b: number, n: number): number {
    return this.fns.dot32(a, b, n);
  }

  /** y += x·α with y float64 and x float32. */
  axpy32(y: number, x: number, n: number, alpha: number): void {
    this.fns.axpy32(y, x, n, alpha);
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
