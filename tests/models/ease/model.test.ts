import assert from "node:assert/strict";
import { test } from "node:test";
import { Matrix, inverse } from "ml-matrix";
import { InteractionMatrix } from "../../../lib/data/matrix.ts";
import { EASE, itemGram } from "../../../lib/models/ease/model.ts";
import { resolveSide } from "../../../lib/models/ease/user-side.ts";
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

/** float64 c·B for every context row, B from ml-matrix's inverse of XᵀX + λI. */
function referenceScores(x: InteractionMatrix, context: InteractionMatrix, lambda: number): Float64Array {
  const m = x.numItems;
  const d = x.denseRows(0, x.numUsers);
  const g = new Matrix(m, m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let s = i === j ? lambda : 0;
    for (let u = 0; u < x.numUsers; u++) s += d[u * m + i] * d[u * m + j];
    g.set(i, j, s);
  }
  const p = inverse(g);
  const c = context.denseRows(0, context.numUsers);
  const out = new Float64Array(context.numUsers * m);
  for (let u = 0; u < context.numUsers; u++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) if (i !== j) s += c[u * m + i] * (-p.get(i, j) / p.get(j, j));
    out[u * m + j] = s;
  }
  return out;
}

const CASES = [
  { users: 80, items: 30, side: "items", block: undefined },
  { users: 80, items: 30, side: "items", block: 7 },
  { users: 80, items: 30, side: "users", block: undefined },
  { users: 30, items: 80, side: "auto", block: undefined }, // fewer users: auto takes the user Gram
] as const;

for (const { users, items, side, block } of CASES) {
  for (const lambda of [1, 10, 100]) {
    test(`EASE (${users} users × ${items} items, side ${side}${block ? ", inverse in column blocks of 7" : ""}, λ ${lambda}) matches a float64 closed form`, async (t) => {
      const x = randomMatrix(users, items, 0.2, 3);
      // The test protocol scores a context larger than the training rows (train + validation).
      const context = x.add(randomMatrix(users, items, 0.05, 4));
      const m = x.numItems;
      const model = new EASE({ lambda, inverseColumnBlock: block, side });
      await model.fit(x);
      assert.equal(resolveSide(side, users, items), users < items || side === "users" ? "users" : "items");
      for (const ctx of [x, context]) {
        const want = referenceScores(x, ctx, lambda);
        const out = new Float32Array(ctx.numUsers * m);
        await model.scoreBlock(ctx, 0, ctx.numUsers, out);
        // Seen items are masked in every ranking; their scores are not part of the model's output.
        let num = 0;
        let den = 0;
        for (let u = 0; u < ctx.numUsers; u++) for (let j = 0; j < m; j++) {
          if (ctx.has(u, j)) continue;
          num = Math.max(num, Math.abs(out[u * m + j] - want[u * m + j]));
          den = Math.max(den, Math.abs(want[u * m + j]));
        }
        assert.ok(num / den < 1e-4, `relative error ${num / den}`);
        t.diagnostic(`${ctx === x ? "train" : "larger"} context: max relative error of unseen-item scores ${(num / den).toExponential(2)}`);
      }
    });
  }
}

test("EASE rejects λ ≤ 0 and empty data", async () => {
  assert.throws(() => new EASE({ lambda: 0 }), /λ must be finite and > 0/);
  await assert.rejects(new EASE({ lambda: 1 }).fit(InteractionMatrix.empty(2, 3)), /no interactions/);
});

test("EASE trained on a weighted 60-user subset scores all users well", async () => {
  await checkSubsetFoldIn(() => new EASE({ lambda: 10 }));
});

test("EASE side: 'auto' takes the smaller Gram; an unknown side is refused", () => {
  assert.equal(resolveSide("auto", 2666, 34893), "users");
  assert.equal(resolveSide("auto", 6040, 3706), "items");
  assert.throws(() => resolveSide("rows" as never, 1, 2), /side must be auto, items or users/);
});
