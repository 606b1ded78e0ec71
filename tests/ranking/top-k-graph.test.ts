/** The ranking tail appended to scoring graphs against the host topK: masking, both tie rules, AUC pairs, NaN. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphBuilder, graphSpec } from "../../lib/onnx/builder.ts";
import { getBackend, type TensorArg } from "../../lib/onnx/backend.ts";
import { appendRanking } from "../../lib/ranking/top-k-graph.ts";
import { randomTieOrder, topK } from "../../lib/ranking/top-k.ts";
import { lcg } from "../helpers.ts";

function rankingGraph(k: number): Uint8Array {
  const g = new GraphBuilder(`test_ranking_k${k}`);
  const s = g.input("S", "float32", ["rows", "items"]);
  const c = g.input("CTX", "float32", ["rows", "items"]);
  appendRanking(g, s, c, k);
  return g.toBytes();
}

test("ranking graph = host topK over masked scores, ties by index or by a random order; pair scores are raw", async () => {
  const be = await getBackend({ device: "cpu" });
  const rows = 30;
  const items = 50;
  const k = 7;
  const r = lcg(11);
  // Few distinct values: many ties.
  const scores = new Float32Array(rows * items).map(() => Math.floor(r() * 4));
  const ctx = new Float32Array(rows * items).map(() => (r() < 0.2 ? 1 : 0));
  const session = await be.session(graphSpec("test_ranking_k7", () => rankingGraph(k)));
  const pairs = [0, 5, 49, 3 * items + 17, (rows - 1) * items + 2];
  for (const ties of [undefined, randomTieOrder(items, 3)]) {
    const order = ties ? ties.order : Int32Array.from({ length: items }, (_, i) => i);
    const out = await be.runDevice(session, {
      S: { data: scores, dims: [rows, items] },
      CTX: { data: ctx, dims: [rows, items] },
      ORDER: { data: order, dims: [items] },
      PAIRS: { data: Int32Array.from(pairs), dims: [pairs.length] },
    });
    const top = (out.TOP as TensorArg).data;
    assert.ok(top instanceof Int32Array, "TOP comes back as int32");
    for (let u = 0; u < rows; u++) {
      const row = scores.slice(u * items, (u + 1) * items);
      for (let i = 0; i < items; i++) if (ctx[u * items + i] > 0) row[i] = -Infinity;
      assert.deepEqual([...top.subarray(u * k, (u + 1) * k)], [...topK(row, k, undefined, ties)], `user ${u}`);
    }
    assert.deepEqual([...((out.PAIR as TensorArg).data as Float32Array)], pairs.map((p) => scores[p]));
    assert.deepEqual([...((out.NAN as TensorArg).data as Int32Array)], new Array(rows).fill(-1));
  }
});

test("ranking graph reports the first NaN item of each row", async () => {
  const be = await getBackend({ device: "cpu" });
  const session = await be.session(graphSpec("test_ranking_k2", () => rankingGraph(2)));
  const s = new Float32Array([1, NaN, 2, NaN, 0, 0, 0, 0, 5]);
  const out = await be.runDevice(session, {
    S: { data: s, dims: [3, 3] },
    CTX: { data: new Float32Array(9), dims: [3, 3] },
    ORDER: { data: Int32Array.from([0, 1, 2]), dims: [3] },
    PAIRS: { data: new Int32Array(0), dims: [0] },
  });
  assert.deepEqual([...((out.NAN as TensorArg).data as Int32Array)], [1, 0, -1]);
});
