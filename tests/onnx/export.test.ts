/** models/*.onnx must be exactly what scripts/export-models.ts generates now. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeModel } from "../../lib/onnx/builder.ts";
import { exportedGraphs, MODELS_DIR } from "../../scripts/export-models.ts";

const GRAPHS = exportedGraphs();
type GraphName = string;

test("every graph regenerates byte for byte as committed in models/", () => {
  const names = Object.keys(GRAPHS) as GraphName[];
  const onDisk = readdirSync(MODELS_DIR).filter((f) => f.endsWith(".onnx")).sort();
  assert.deepEqual(onDisk, names.map((n) => `${n}.onnx`).sort(), "models/ holds exactly the registered graphs");
  for (const name of names) {
    const fresh = GRAPHS[name](); // built from scratch, not from the cache
    const committed = new Uint8Array(readFileSync(join(MODELS_DIR, `${name}.onnx`)));
    assert.ok(Buffer.from(fresh).equals(committed), `${name}.onnx differs from a fresh export: run scripts/export-models.ts`);
  }
});

test("graph bytes are deterministic across builds", () => {
  for (const name of Object.keys(GRAPHS) as GraphName[]) {
    assert.deepEqual(GRAPHS[name](), GRAPHS[name](), name);
  }
});

test("every initializer and node output is used (ORT warns and drops unused ones)", () => {
  for (const name of Object.keys(GRAPHS) as GraphName[]) {
    const graph = decodeModel(GRAPHS[name]()).graph!;
    const consumed = new Set([...graph.node!.flatMap((n) => n.input!), ...graph.output!.map((o) => o.name!)]);
    for (const init of graph.initializer!) assert.ok(consumed.has(init.name!), `${name}: initializer ${init.name} is unused`);
    for (const node of graph.node!) {
      for (const out of node.output!) assert.ok(consumed.has(out), `${name}: output ${out} of ${node.opType} is unused`);
    }
  }
});
