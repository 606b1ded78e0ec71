/**
 * The WebAssembly binary writer (lib/wasm/module.ts): a tiny module with
 * scalar, SIMD, control flow and an imported function validates, runs, and
 * computes what the equivalent TypeScript computes (exactly: integer and
 * float64 arithmetic are IEEE-defined).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { f64, FunctionBody, i32, ModuleBuilder, v128 } from "../../lib/wasm/module.ts";

function build(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  const twice = m.importFunction("host", "twice", [f64], [f64]);
  m.importMemory("host", "memory", 1);
  // sum(n): Σ_{i<n} i·3 − 7, with a loop and negative constants (signed LEB128).
  const sum = new FunctionBody([["n", i32]], [i32]);
  sum.local("i", i32);
  sum.local("s", i32);
  sum.open("block").open("loop");
  sum.get("i").get("n").op("i32.lt_u").op("i32.eqz").br("br_if", 1);
  sum.get("s").get("i").i32(3).op("i32.mul").i32(-7).op("i32.add").op("i32.add").set("s");
  sum.get("i").i32(1).op("i32.add").set("i").br("br", 0);
  sum.op("end").op("end");
  sum.get("s");
  m.define(sum, "sum");
  // lanes(p): memory[p..p+16) as i32x4 = (v + (0,1,2,3)) · 0x846ca68b ^ (v >>> 5), v = splat(i32 at p + 16).
  const lanes = new FunctionBody([["p", i32]], []);
  lanes.local("v", v128);
  lanes.get("p").i32(16).op("i32.add").mem("i32.load").simd("i32x4.splat").set("v");
  lanes.get("p");
  lanes.get("v").i32x4(0, 1, 2, 3).simd("i32x4.add").i32(0x846ca68b | 0).simd("i32x4.splat").simd("i32x4.mul");
  lanes.get("v").i32(5).simd("i32x4.shr_u").simd("v128.xor");
  lanes.simd("v128.store");
  m.define(lanes, "lanes");
  // halfTwice(x): host twice(x) · 0.5 through f64 ops and an if/else.
  const ht = new FunctionBody([["x", f64]], [f64]);
  ht.local("r", f64);
  ht.get("x").call(twice).f64(0.5).op("f64.mul").set("r");
  ht.get("x").f64(0).op("f64.sub").set("x");
  ht.get("r");
  m.define(ht, "halfTwice");
  return m.encode();
}

test("wasm module: validates and runs scalar, SIMD and imported-function code exactly", () => {
  const bytes = build();
  assert.ok(WebAssembly.validate(bytes), "module must validate");
  const memory = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { host: { memory, twice: (x: number) => 2 * x } });
  const ex = inst.exports as unknown as { sum(n: number): number; lanes(p: number): void; halfTwice(x: number): number };
  let s = 0;
  for (let i = 0; i < 1000; i++) s = (s + (i * 3 - 7)) | 0;
  assert.equal(ex.sum(1000), s);
  const view = new Int32Array(memory.buffer);
  const v = 0x9e3779b9 | 0;
  view[4 + 4] = v; // p = 16 bytes → the splat source at 32
  ex.lanes(16);
  for (let lane = 0; lane < 4; lane++) {
    const want = Math.imul((v + lane) | 0, 0x846ca68b | 0) ^ (v >>> 5);
    assert.equal(view[4 + lane], want | 0, `lane ${lane}`);
  }
  assert.equal(ex.halfTwice(3.25), 3.25);
});

test("wasm module: bad input is refused with a message naming it", () => {
  const f = new FunctionBody([["x", i32]], []);
  assert.throws(() => f.get("y"), /unknown local y/);
  assert.throws(() => f.local("x", i32), /declared twice/);
  assert.throws(() => f.simd("i8x16.shuffle", 1, 2), /16 lane indices/);
});
