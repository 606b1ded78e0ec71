/**
 * A minimal WebAssembly binary writer: just enough to emit small numeric
 * kernels (with 128-bit SIMD) from TypeScript at load time, the way
 * lib/onnx/builder.ts emits ONNX graphs. No text format, no toolchain, no
 * committed binaries: the bytes are a pure function of the code below, and
 * `WebAssembly.validate` plus the kernels' tests against plain TypeScript
 * catch encoding mistakes.
 *
 * Encoding per the WebAssembly core specification 2.0 (binary format, §5),
 * including the fixed-width SIMD proposal's opcodes (0xFD prefix).
 */

export const i32 = 0x7f;
export const i64 = 0x7e;
export const f32 = 0x7d;
export const f64 = 0x7c;
export const v128 = 0x7b;
export type ValueType = typeof i32 | typeof i64 | typeof f32 | typeof f64 | typeof v128;

function uleb(out: number[], v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new Error(`wasm: unsigned LEB128 needs an integer ≥ 0, got ${v}`);
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
}

function sleb(out: number[], v: number): void {
  if (!Number.isInteger(v)) throw new Error(`wasm: signed LEB128 needs an integer, got ${v}`);
  for (;;) {
    const b = v & 0x7f;
    v = Math.floor(v / 128);
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  out.push(...bytes);
}

/** SIMD opcodes used by infrec's kernels (0xFD prefix). */
export const SIMD = {
  "v128.load": 0x00,
  "v128.store": 0x0b,
  "v128.const": 0x0c,
  "v128.load64_zero": 0x5d,
  "i32x4.splat": 0x11,
  "f64x2.splat": 0x14,
  "i8x16.shuffle": 0x0d,
  "i32x4.extract_lane": 0x1b,
  "f64x2.extract_lane": 0x21,
  "i32x4.gt_u": 0x3c,
  "v128.and": 0x4e,
  "v128.or": 0x50,
  "v128.xor": 0x51,
  "v128.any_true": 0x53,
  "i32x4.shl": 0xab,
  "i32x4.shr_u": 0xad,
  "i32x4.add": 0xae,
  "i32x4.sub": 0xb1,
  "i32x4.mul": 0xb5,
  "i32x4.min_u": 0xb7,
  "i32x4.max_u": 0xb9,
  "f64x2.add": 0xf0,
  "f64x2.sub": 0xf1,
  "f64x2.mul": 0xf2,
  "f64x2.promote_low_f32x4": 0x5f,
  "f64x2.convert_low_i32x4_s": 0xfe,
  "f64x2.convert_low_i32x4_u": 0xff,
} as const;

/** Scalar opcodes used by infrec's kernels. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  call: 0x10,
  return: 0x0f,
  "local.get": 0x20,
  "local.set": 0x21,
  "local.tee": 0x22,
  "f32.load": 0x2a,
  "f64.load": 0x2b,
  "f32.store": 0x38,
  "f64.store": 0x39,
  "i32.load": 0x28,
  "i32.const": 0x41,
  "f64.const": 0x44,
  "i32.eqz": 0x45,
  "i32.lt_u": 0x49,
  "i32.gt_u": 0x4b,
  "i32.le_u": 0x4d,
  "i32.add": 0x6a,
  "i32.sub": 0x6b,
  "i32.mul": 0x6c,
  "i32.and": 0x71,
  "i32.xor": 0x73,
  "i32.shl": 0x74,
  "i32.shr_u": 0x76,
  "f64.add": 0xa0,
  "f64.sub": 0xa1,
  "f64.mul": 0xa2,
  "f64.div": 0xa3,
  "f64.min": 0xa4,
  "f64.neg": 0x9a,
  "f64.sqrt": 0x9f,
  "f64.gt": 0x64,
  "f64.convert_i32_u": 0xb8,
  "f32.demote_f64": 0xb6,
  "f64.promote_f32": 0xbb,
} as const;

/** Instruction stream of one function body, with named locals. */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly localTypes: ValueType[] = [];
  private readonly names = new Map<string, number>();

  constructor(readonly params: readonly [string, ValueType][], readonly results: readonly ValueType[]) {
    params.forEach(([n], i) => this.names.set(n, i));
  }

  /** Declares a local (after the parameters); returns its index. */
  local(n: string, type: ValueType): number {
    if (this.names.has(n)) throw new Error(`wasm: local ${n} declared twice`);
    const idx = this.params.length + this.localTypes.length;
    this.localTypes.push(type);
    this.names.set(n, idx);
    return idx;
  }

  private index(n: string): number {
    const i = this.names.get(n);
    if (i === undefined) throw new Error(`wasm: unknown local ${n}`);
    return i;
  }

  op(o: keyof typeof OP): this {
    this.code.push(OP[o]);
    return this;
  }

  get(n: string): this {
    this.code.push(OP["local.get"]);
    uleb(this.code, this.index(n));
    return this;
  }

  set(n: string): this {
    this.code.push(OP["local.set"]);
    uleb(this.code, this.index(n));
    return this;
  }

  tee(n: string): this {
    this.code.push(OP["local.tee"]);
    uleb(this.code, this.index(n));
    return this;
  }

  i32(v: number): this {
    this.code.push(OP["i32.const"]);
    sleb(this.code, v | 0);
    return this;
  }

  f64(v: number): this {
    this.code.push(OP["f64.const"]);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.code.push(...b);
    return this;
  }

  /** Loads/stores: memarg (log2 alignment, byte offset). */
  mem(o: "f64.load" | "f64.store" | "f32.load" | "f32.store" | "i32.load", offset = 0): this {
    this.code.push(OP[o]);
    uleb(this.code, o.startsWith("f64") ? 3 : 2);
    uleb(this.code, offset);
    return this;
  }

  simd(o: keyof typeof SIMD, ...lane: number[]): this {
    this.code.push(0xfd);
    uleb(this.code, SIMD[o]);
    if (o === "v128.load" || o === "v128.store") {
      uleb(this.code, 4); // 16-byte alignment hint
      uleb(this.code, lane[0] ?? 0);
    } else if (o === "v128.load64_zero") {
      uleb(this.code, 3);
      uleb(this.code, lane[0] ?? 0);
    } else if (o.endsWith("extract_lane")) {
      this.code.push(lane[0]);
    } else if (o === "i8x16.shuffle") {
      if (lane.length !== 16) throw new Error("wasm: i8x16.shuffle needs 16 lane indices");
      this.code.push(...lane);
    }
    return this;
  }

  /** A v128 constant of four i32 lanes. */
  i32x4(a: number, b: number, c: number, d: number): this {
    this.code.push(0xfd);
    uleb(this.code, SIMD["v128.const"]);
    this.code.push(...new Uint8Array(new Int32Array([a, b, c, d]).buffer));
    return this;
  }

  /** `block`/`loop`/`if` with no result. */
  open(o: "block" | "loop" | "if"): this {
    this.code.push(OP[o], 0x40);
    return this;
  }

  br(o: "br" | "br_if", depth: number): this {
    this.code.push(OP[o]);
    uleb(this.code, depth);
    return this;
  }

  call(fn: number): this {
    this.code.push(OP.call);
    uleb(this.code, fn);
    return this;
  }

  /** The body's bytes: locals vector, code, end. */
  encode(): number[] {
    const out: number[] = [];
    uleb(out, this.localTypes.length);
    for (const t of this.localTypes) {
      out.push(1, t);
    }
    out.push(...this.code, OP.end);
    return out;
  }
}

interface FuncDef {
  body: FunctionBody;
  exportName: string | null;
}

/**
 * A module of imported functions, one imported memory and defined functions.
 * Function indices: imports first (in order), then definitions.
 */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly imports: { module: string; field: string; type: number }[] = [];
  private readonly funcs: FuncDef[] = [];
  private memory: { module: string; field: string; minPages: number; sharedMaxPages: number | null } | null = null;

  private typeIndex(params: readonly ValueType[], results: readonly ValueType[]): number {
    const key = `${params.join(",")}->${results.join(",")}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.length;
      this.types.push(key);
    }
    return i;
  }

  /** Imports a host function; returns its function index. */
  importFunction(module: string, field: string, params: readonly ValueType[], results: readonly ValueType[]): number {
    if (this.funcs.length > 0) throw new Error("wasm: import functions before defining any");
    this.imports.push({ module, field, type: this.typeIndex(params, results) });
    return this.imports.length - 1;
  }

  /**
   * Imports the module's memory; `sharedMaxPages` makes it a shared memory
   * (threads) of at most that many 64 KiB pages, which the host must pass.
   */
  importMemory(module: string, field: string, minPages: number, sharedMaxPages: number | null = null): void {
    this.memory = { module, field, minPages, sharedMaxPages };
  }

  /** Adds a function; returns its function index. */
  define(body: FunctionBody, exportName: string | null = null): number {
    this.funcs.push({ body, exportName });
    return this.imports.length + this.funcs.length - 1;
  }

  /** Index the next `define` will get. */
  nextFunctionIndex(): number {
    return this.imports.length + this.funcs.length;
  }

  encode(): Uint8Array<ArrayBuffer> {
    // Register every defined function's type before writing the type section.
    const funcTypes = this.funcs.map((f) => this.typeIndex(f.body.params.map(([, t]) => t), f.body.results));
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]): void => {
      out.push(id);
      uleb(out, content.length);
      out.push(...content);
    };
    const typeSec: number[] = [];
    uleb(typeSec, this.types.length);
    for (const key of this.types) {
      const [p, r] = key.split("->").map((s) => (s === "" ? [] : s.split(",").map(Number)));
      typeSec.push(0x60);
      uleb(typeSec, p.length);
      typeSec.push(...p);
      uleb(typeSec, r.length);
      typeSec.push(...r);
    }
    const importSec: number[] = [];
    uleb(importSec, this.imports.length + (this.memory ? 1 : 0));
    for (const im of this.imports) {
      name(importSec, im.module);
      name(importSec, im.field);
      importSec.push(0x00);
      uleb(importSec, im.type);
    }
    if (this.memory) {
      name(importSec, this.memory.module);
      name(importSec, this.memory.field);
      if (this.memory.sharedMaxPages === null) {
        importSec.push(0x02, 0x00);
        uleb(importSec, this.memory.minPages);
      } else {
        importSec.push(0x02, 0x03); // shared, with a maximum
        uleb(importSec, this.memory.minPages);
        uleb(importSec, this.memory.sharedMaxPages);
      }
    }
    const funcSec: number[] = [];
    uleb(funcSec, funcTypes.length);
    for (const t of funcTypes) uleb(funcSec, t);
    const exportSec: number[] = [];
    const exported = this.funcs.map((f, i) => ({ f, i })).filter(({ f }) => f.exportName !== null);
    uleb(exportSec, exported.length);
    for (const { f, i } of exported) {
      name(exportSec, f.exportName!);
      exportSec.push(0x00);
      uleb(exportSec, this.imports.length + i);
    }
    const codeSec: number[] = [];
    uleb(codeSec, this.funcs.length);
    for (const f of this.funcs) {
      const body = f.body.encode();
      uleb(codeSec, body.length);
      codeSec.push(...body);
    }
    // Section ids in the order the format requires.
    section(1, typeSec);
    section(2, importSec);
    section(3, funcSec);
    section(7, exportSec);
    section(10, codeSec);
    return new Uint8Array(out);
  }
}
