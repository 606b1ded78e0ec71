import assert from "node:assert/strict";
import { test } from "node:test";
import { Matrix, inverse } from "ml-matrix";
import { InteractionMatrix } from "../../../lib/data/matrix.ts";
import { EASE, itemGram } from "../../../lib/models/ease/model.ts";
import { getBackend } from "../../../lib/onnx/backend.ts";
import { Rng } from "../../../lib/random.ts";
import { checkSubsetFoldIn } from "../shared.ts";

function randomMatrix(n: number, m: number, density: number, seed: number, weighted = false): InteractionMatrix {
  const rng = new Rng(seed);
  const us: number[] = [];
  const is: number[] = [];
  const vs: number[] = [];
  for (let u = 0; u < n; u++) {
    for (let i = 0; i < m; i++) {
      if (rng.next() < density) {
        us.push(u);
        is.push(i);
        vs.push(weighted ? rng.next() : 1);
      }
    }
  }
  return InteractionMatrix.fromTriplets(n, m, us, is, vs);
}

test("itemGram: sparse and dense paths both equal XᵀX", async () => {
  const backend = await getBackend({ device: "cpu" });
  for (const [x, label] of [[randomMatrix(40, 25, 0.1, 1), "sparse rows"], [randomMatrix(30, 20, 0.95, 2, true), "dense weighted rows"]] as const) {
    const g = await itemGram(x, backend);
    const d = x.denseRows(0, x.numUsers);
    const m = x.numItems;
    let err = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let u = 0; u < x.numUsers; u++) s += d[u * m + i] * d[u * m + j];
        err = Math.max(err, Math.abs(g[i * m + j] - s) / Math.max(1, Math.abs(s)));
      }
    }
    assert.ok(err < 1e-5, `${label}: relative error ${err}`);
  }
});

for (const block of [undefined, 7]) test(`EASE scores match a float64 closed form (ml-matrix inverse)${block ? ", inverse in column blocks of 7" : ""}`, async (t) => {
  const x = randomMatrix(80, 30, 0.2, 3);
  const m = x.numItems;
  const lambda = 10;
  const model = new EASE({ lambda, inverseColumnBlock: block });
  await model.fit(x);
  const d = x.denseRows(0, x.numUsers);
  const g = new Matrix(m, m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let s = i === j ? lambda : 0;
    for (let u = 0; u < x.numUsers; u++) s += d[u * m + i] * d[u * m + j];
    g.set(i, j, s);
  }
  const p = inverse(g);
  const out = new Float32Array(x.numUsers * m);
  await model.scoreBlock(x, 0, x.numUsers, out);
  let num = 0;
  let den = 0;
  for (let u = 0; u < x.numUsers; u++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) if (i !== j) s += d[u * m + i] * (-p.get(i, j) / p.get(j, j));
    num = Math.max(num, Math.abs(out[u * m + j] - s));
    den = Math.max(den, Math.abs(s));
  }
  assert.ok(num / den < 1e-4, `relative error ${num / den}`);
  t.diagnostic(`max relative error of scores ${(num / den).toExponential(2)}`);
});

test("EASE rejects λ ≤ 0 and empty data", async () => {
  assert.throws(() => new EASE({ lambda: 0 }), /λ must be finite and > 0/);
  await assert.rejects(new EASE({ lambda: 1 }).fit(InteractionMatrix.empty(2, 3)), /no interactions/);
});

test("EASE trained on a weighted 60-user subset scores all users well", async () => {
  await checkSubsetFoldIn(() => new EASE({ lambda: 10 }));
});
