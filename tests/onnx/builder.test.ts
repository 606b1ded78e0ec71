import { test } from "node:test";
import assert from "node:assert/strict";
import { attr, decodeModel, GraphBuilder, graphSpec, PRODUCER_NAME, PRODUCER_VERSION } from "../../lib/onnx/builder.ts";
import { getBackend } from "../../lib/onnx/backend.ts";

function addGraph(): Uint8Array {
  const g = new GraphBuilder("tiny_add");
  const x = g.input("X", "float32", ["n"]);
  const y = g.input("Y", "float32", ["n"]);
  const s = g.op("Add", [x, y]);
  g.output(g.op("Mul", [s, g.constFloat(2)]), "Z", "float32", ["n"]);
  return g.toBytes();
}

test("a tiny Add graph runs on ORT and gives (x + y)·2", async () => {
  const be = await getBackend({ device: "cpu" });
  const s = await be.session(graphSpec("test:tiny_add", addGraph));
  const { Z } = await be.run(s, {
    X: { data: new Float32Array([1, 2, 3]), dims: [3] },
    Y: { data: new Float32Array([0.5, -2, 10]), dims: [3] },
  });
  assert.deepEqual([...(Z.data as Float32Array)], [3, 0, 26]);
});

test("bytes are deterministic and carry fixed producer fields", () => {
  const a = addGraph();
  assert.deepEqual(a, addGraph());
  const m = decodeModel(a);
  assert.equal(m.producerName, PRODUCER_NAME);
  assert.equal(m.producerVersion, PRODUCER_VERSION);
  assert.equal(Number(m.irVersion), 8);
  assert.equal(Number(m.opsetImport[0].version), 17);
  const graph = m.graph!;
  assert.deepEqual(
    graph.node!.map((n) => n.opType),
    ["Add", "Mul", "Identity"],
  );
  assert.deepEqual(graph.input!.map((v) => v.name), ["X", "Y"]);
  assert.equal(graph.output![0].type!.tensorType!.shape!.dim![0].dimParam, "n");
});

test("attributes, int64 constants and initializers round-trip", async () => {
  const g = new GraphBuilder("attrs");
  const x = g.input("X", "float32", [2, 3]);
  const w = g.initializer({ dtype: "float32", dims: [3, 2], data: [1, 0, 0, 1, 1, 1] }, "W");
  const y = g.op("Gemm", [x, w], { alpha: attr.float(0.5), transB: attr.int(0) });
  const r = g.op("Reshape", [y, g.constInt64([4])]);
  const c = g.op("ReduceSum", [r], { keepdims: attr.int(0) }, { outputs: ["S"] });
  g.output(c, "S", "float32", []);
  const m = decodeModel(g.toBytes());
  const gemm = m.graph!.node!.find((n) => n.opType === "Gemm")!;
  assert.deepEqual(gemm.attribute!.map((a) => a.name), ["alpha", "transB"]); // sorted
  assert.equal(gemm.attribute![0].f, 0.5);
  const be = await getBackend({ device: "cpu" });
  const s = await be.session(graphSpec("test:attrs", () => g.toBytes()));
  const { S } = await be.run(s, { X: { data: new Float32Array([1, 2, 3, 4, 5, 6]), dims: [2, 3] } });
  // X·W = [[4, 5], [10, 11]], times 0.5, summed: 15
  assert.equal((S.data as Float32Array)[0], 15);
});

test("bad graphs are rejected with errors naming the problem", () => {
  const g = new GraphBuilder("bad");
  const x = g.input("X", "float32", ["n"]);
  assert.throws(() => g.input("X", "float32", ["n"]), /value name "X" used twice/);
  assert.throws(() => g.op("Neg", [{ name: "nope" }]), /uses unknown value "nope"/);
  assert.throws(() => attr.int(1.5), /not an integer/);
  assert.throws(() => g.initializer({ dtype: "float32", dims: [2, 2], data: [1, 2, 3] }), /3 values for dims \[2, 2\]/);
  assert.throws(() => g.toBytes(), /no outputs declared/);
  g.output(g.op("Neg", [x]), "Y", "float32", ["n"]);
  assert.ok(g.toBytes().length > 0);
});
