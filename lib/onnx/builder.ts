/**
 * A small typed builder for ONNX graphs, writing ModelProto bytes with the
 * `onnx-proto` package (protobufjs static code).
 *
 *   const g = new GraphBuilder("add");
 *   const x = g.input("X", "float32", ["n"]);
 *   const y = g.op("Add", [x, g.constFloat(1)]);
 *   g.output(y, "Y", "float32", ["n"]);
 *   const bytes = g.toBytes();            // opset 17, deterministic
 *
 * The bytes are deterministic: fixed producer name/version, no timestamps,
 * names generated from a counter, fields written in declaration order. So
 * scripts/export-models.ts can regenerate models/*.onnx and a test can compare.
 *
 * onnx-proto is CommonJS; `import { onnx } from "onnx-proto"` fails under
 * Node (tsx) and Deno because the named export is not statically detectable,
 * so we take the default export, which works in Node, Deno and Bun.
 */
import onnxProto from "onnx-proto";
import type { onnx as proto } from "onnx-proto";

// Read only inside functions: the built CLI loads onnx-proto on first use
// (scripts/build.ts), keeping its ~0.1 s start-up out of --help and --version.
const onnx = (): typeof proto => onnxProto.onnx;

export const PRODUCER_NAME = "infrec";
export const PRODUCER_VERSION = "1";
export const DEFAULT_OPSET = 17;
/** IR version 8 goes with opset 17 (ONNX 1.12+). */
export const DEFAULT_IR_VERSION = 8;

export type DType = "float32" | "float64" | "int64" | "int32" | "bool";

function elemType(dtype: DType): number {
  const T = onnx().TensorProto.DataType;
  return { float32: T.FLOAT, float64: T.DOUBLE, int64: T.INT64, int32: T.INT32, bool: T.BOOL }[dtype];
}

/** A dimension: a fixed size or a symbolic name ("n", "d"). */
export type Dim = number | string;

/** A value (tensor) in the graph under construction; only its name matters. */
export interface Value {
  readonly name: string;
}

/** A constant tensor for initializers and tensor attributes. */
export interface TensorConst {
  dtype: "float32" | "float64" | "int64" | "int32";
  dims: readonly number[];
  data: readonly number[] | Float32Array | Float64Array | Int32Array | BigInt64Array;
}

/** Typed attribute values; build them with the `attr` helpers. */
export type AttrValue =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "ints"; value: readonly number[] }
  | { kind: "floats"; value: readonly number[] }
  | { kind: "string"; value: string }
  | { kind: "tensor"; value: TensorConst };

export const attr = {
  int: (value: number): AttrValue => {
    if (!Number.isInteger(value)) throw new Error(`attr.int: ${value} is not an integer`);
    return { kind: "int", value };
  },
  float: (value: number): AttrValue => ({ kind: "float", value }),
  ints: (value: readonly number[]): AttrValue => {
    for (const v of value) if (!Number.isInteger(v)) throw new Error(`attr.ints: ${v} is not an integer`);
    return { kind: "ints", value };
  },
  floats: (value: readonly number[]): AttrValue => ({ kind: "floats", value }),
  string: (value: string): AttrValue => ({ kind: "string", value }),
  tensor: (value: TensorConst): AttrValue => ({ kind: "tensor", value }),
};

export interface OpOptions {
  /** Names for the outputs (defaults: generated from the op type and a counter). */
  outputs?: readonly string[];
  /** Number of outputs when names are generated (default 1). */
  outputCount?: number;
  /** Operator domain ("" = ai.onnx, "com.microsoft" for contrib ops). */
  domain?: string;
}

export interface ToBytesOptions {
  opset?: number;
  irVersion?: number;
  docString?: string;
}

function tensorProto(name: string, t: TensorConst): proto.ITensorProto {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new Error(`tensor ${name}: ${t.data.length} values for dims [${t.dims.join(", ")}] (${count})`);
  }
  // Little-endian raw bytes: compact and deterministic for every dtype.
  let raw: Uint8Array;
  switch (t.dtype) {
    case "float32":
      raw = new Uint8Array(Float32Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case "float64":
      raw = new Uint8Array(Float64Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case "int32":
      raw = new Uint8Array(Int32Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case "int64": {
      const v = new BigInt64Array(count);
      for (let i = 0; i < count; i++) v[i] = BigInt(t.data[i]);
      raw = new Uint8Array(v.buffer);
      break;
    }
  }
  if (!littleEndian()) throw new Error("GraphBuilder: big-endian hosts are not supported");
  return { name, dims: [...t.dims], dataType: elemType(t.dtype), rawData: raw };
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

function attributeProto(name: string, a: AttrValue): proto.IAttributeProto {
  const T = onnx().AttributeProto.AttributeType;
  switch (a.kind) {
    case "int":
      return { name, type: T.INT, i: a.value };
    case "float":
      return { name, type: T.FLOAT, f: a.value };
    case "ints":
      return { name, type: T.INTS, ints: [...a.value] };
    case "floats":
      return { name, type: T.FLOATS, floats: [...a.value] };
    case "string":
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case "tensor":
      return { name, type: T.TENSOR, t: tensorProto(name, a.value) };
  }
}

/** A value's type; `shape` null leaves the rank open (any shape). */
function valueInfo(name: string, dtype: DType, shape: readonly Dim[] | null): proto.IValueInfoProto {
  const tensorType: proto.TypeProto.ITensor = { elemType: elemType(dtype) };
  if (shape !== null) tensorType.shape = { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}

export class GraphBuilder {
  private readonly nodes: proto.INodeProto[] = [];
  private readonly initializers: proto.ITensorProto[] = [];
  private readonly inputs: proto.IValueInfoProto[] = [];
  private readonly outputs: proto.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private readonly domains = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private claim(name: string): Value {
    if (name === "") throw new Error(`graph ${this.name}: empty value name`);
    if (this.names.has(name)) throw new Error(`graph ${this.name}: value name "${name}" used twice`);
    this.names.add(name);
    return { name };
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  /** A graph input with element type and (possibly symbolic) shape. */
  input(name: string, dtype: DType, shape: readonly Dim[] | null): Value {
    const v = this.claim(name);
    this.inputs.push(valueInfo(name, dtype, shape));
    return v;
  }

  /** A constant tensor stored in the model (an initializer). */
  initializer(t: TensorConst, name?: string): Value {
    const v = this.claim(name ?? this.fresh("const"));
    this.initializers.push(tensorProto(v.name, t));
    return v;
  }

  /** A float32 constant: a scalar by default, or with the given dims. */
  constFloat(value: number | readonly number[], dims?: readonly number[]): Value {
    const data = typeof value === "number" ? [value] : value;
    return this.initializer({ dtype: "float32", dims: dims ?? (typeof value === "number" ? [] : [data.length]), data });
  }

  /** An int64 vector constant (shapes, axes, indices). A number gives a scalar. */
  constInt64(value: number | readonly number[]): Value {
    if (typeof value === "number") return this.initializer({ dtype: "int64", dims: [], data: [value] });
    return this.initializer({ dtype: "int64", dims: [value.length], data: value });
  }

  /** An int32 constant: a scalar for a number, else a vector. */
  constInt32(value: number | readonly number[]): Value {
    if (typeof value === "number") return this.initializer({ dtype: "int32", dims: [], data: [value] });
    return this.initializer({ dtype: "int32", dims: [value.length], data: value });
  }

  /** Adds a node with one output and returns it. */
  op(opType: string, inputs: readonly (Value | null)[], attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): Value {
    const outs = this.opMulti(opType, inputs, attrs, { ...opts, outputCount: opts.outputs?.length ?? 1 });
    if (outs.length !== 1) throw new Error(`graph ${this.name}: op ${opType} has ${outs.length} outputs; use opMulti`);
    return outs[0];
  }

  /** Adds a node with several outputs. A null input is an omitted optional input. */
  opMulti(opType: string, inputs: readonly (Value | null)[], attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): Value[] {
    for (const v of inputs) {
      if (v !== null && !this.names.has(v.name)) throw new Error(`graph ${this.name}: op ${opType} uses unknown value "${v.name}"`);
    }
    const count = opts.outputs?.length ?? opts.outputCount ?? 1;
    const outNames = opts.outputs ?? Array.from({ length: count }, () => this.fresh(opType));
    const outs = outNames.map((n) => this.claim(n));
    const domain = opts.domain ?? "";
    if (domain !== "") this.domains.add(domain);
    this.nodes.push({
      input: inputs.map((v) => (v === null ? "" : v.name)),
      output: [...outNames],
      name: `${opType}_node_${this.nodes.length}`,
      opType,
      domain: domain === "" ? undefined : domain,
      attribute: Object.keys(attrs)
        .sort()
        .map((k) => attributeProto(k, attrs[k])),
    });
    return outs;
  }

  /** Declares a graph output; renames through an Identity node when `name` differs. */
  output(value: Value, name: string, dtype: DType, shape: readonly Dim[] | null): Value {
    let v = value;
    if (value.name !== name) v = this.op("Identity", [value], {}, { outputs: [name] });
    this.outputs.push(valueInfo(name, dtype, shape));
    return v;
  }

  toModelProto(opts: ToBytesOptions = {}): proto.IModelProto {
    if (this.outputs.length === 0) throw new Error(`graph ${this.name}: no outputs declared`);
    const opsetImport: proto.IOperatorSetIdProto[] = [{ domain: "", version: opts.opset ?? DEFAULT_OPSET }];
    for (const d of [...this.domains].sort()) opsetImport.push({ domain: d, version: 1 });
    return {
      irVersion: opts.irVersion ?? DEFAULT_IR_VERSION,
      opsetImport,
      producerName: PRODUCER_NAME,
      producerVersion: PRODUCER_VERSION,
      docString: opts.docString,
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  /** Serialized ModelProto bytes (deterministic). */
  toBytes(opts: ToBytesOptions = {}): Uint8Array {
    const { ModelProto } = onnx();
    return ModelProto.encode(ModelProto.fromObject(this.toModelProto(opts))).finish();
  }
}

/** Decodes ModelProto bytes (for tests and inspection). */
export function decodeModel(bytes: Uint8Array): proto.ModelProto {
  return onnx().ModelProto.decode(bytes);
}

/**
 * An identity matrix shaped like the square matrix `x`, from Range and Equal:
 * ONNX's EyeLike has no WebGPU kernel in ORT 1.30 (it runs on the CPU, and an
 * n × n identity then crosses to the GPU).
 */
export function identityLike(g: GraphBuilder, x: Value): Value {
  const n = g.op("Squeeze", [g.op("Shape", [x], { start: attr.int(0), end: attr.int(1) }), g.constInt64([0])]);
  // Positions as float32 (exact below 2²⁴): WebGPU's Equal takes no int64.
  const r = g.op("Cast", [g.op("Range", [g.constInt64(0), n, g.constInt64(1)])], { to: attr.int(1) });
  const same = g.op("Equal", [g.op("Unsqueeze", [r, g.constInt64([1])]), g.op("Unsqueeze", [r, g.constInt64([0])])]);
  return g.op("Cast", [same], { to: attr.int(1) });
}

/**
 * A graph as the backend loads it: a stable key (the session cache key and,
 * for exported graphs, the models/<key>.onnx file name) and its bytes, built
 * on first use. Domain folders (lib/ntk, lib/linalg) define their own specs.
 */
export interface GraphSpec {
  readonly key: string;
  bytes(): Uint8Array;
}

/** A GraphSpec whose builder runs once. */
export function graphSpec(key: string, build: () => Uint8Array): GraphSpec {
  let cached: Uint8Array | undefined;
  return { key, bytes: () => (cached ??= build()) };
}

const sharedSpecs = new Map<string, GraphSpec>();

/**
 * The one GraphSpec of `key` in this process (made from `build` the first
 * time): for graphs generated per shape or option, e.g. per block count.
 */
export function sharedGraphSpec(key: string, build: () => Uint8Array): GraphSpec {
  let spec = sharedSpecs.get(key);
  if (spec === undefined) {
    spec = graphSpec(key, build);
    sharedSpecs.set(key, spec);
  }
  return spec;
}
