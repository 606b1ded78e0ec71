import assert from "node:assert/strict";
import { test } from "node:test";
import { Matrix, inverse } from "ml-matrix";
import { InteractionMatrix } from "../../../lib/data/matrix.ts";
import { EASE, itemGram } from "../../../lib/models/ease/model.ts";
import { resolveSide } from "../../../lib/models/ease/user-side.ts";
import { FitScratch } from "../../../lib/models/scratch.ts";
import { getBackend } from "../../../lib/onnx/backend.ts";
import { Rng } from "../../../lib/random.ts";
import { checkSubsetFoldIn, unseenRelativeError } from "../shared.ts";

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
  // The sparse path sums the lower triangle and mirrors it: the same float32 sums as every pair, in user order.
  const x = randomMatrix(60, 200, 0.05, 3, true); // Σ n_u² ≈ 7·10³ < 2·n·m²/100: the sparse path
  const m = x.numItems;
  const every = new Float32Array(m * m);
  for (let u = 0; u < x.numUsers; u++) {
    const items = x.rowItems(u);
    const vals = x.rowValues(u);
    for (let a = 0; a < items.length; a++) for (let b = 0; b < items.length; b++) every[items[a] * m + items[b]] += vals[a] * vals[b];
  }
  assert.deepEqual(await itemGram(x, backend), every);
});

/**
 * float64 B of the EASE family straight from the definitions: G = Xᵀ·diag(n_u^(−β))·X,
 * P = (G + Λ)⁻¹ by ml-matrix, Λ = λI + p/(1−p)·diag(XᵀX); ξ = 0: B_ij = −P_ij/P_jj,
 * B_jj = 0; ξ = 1: B = P·G; otherwise B = I − P·diag(max(Λ_jj, (1−ξ)/P_jj));
 * then DAN's B_ij·s_i/s_j with s_j = n_j^(1−α).
 */
function referenceWeights(x: InteractionMatrix, lambda: number, dropout = 0, xi = 0, alpha = 1, beta = 0): Matrix {
  const m = x.numItems;
  const d = x.denseRows(0, x.numUsers);
  const userWeight = Array.from({ length: x.numUsers }, (_, u) => {
    let n = 0;
    for (let j = 0; j < m; j++) n += d[u * m + j];
    return n > 0 ? n ** -beta : 1;
  });
  const g = new Matrix(m, m);
  const squares = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let u = 0; u < x.numUsers; u++) s += userWeight[u] * d[u * m + i] * d[u * m + j];
    g.set(i, j, s);
  }
  for (let u = 0; u < x.numUsers; u++) for (let j = 0; j < m; j++) squares[j] += d[u * m + j] ** 2;
  const ridge = Array.from(squares, (q) => lambda + (dropout / (1 - dropout)) * q);
  const reg = g.clone();
  for (let j = 0; j < m; j++) reg.set(j, j, g.get(j, j) + ridge[j]);
  const p = inverse(reg);
  let b: Matrix;
  if (xi === 1) b = p.mmul(g);
  else {
    b = new Matrix(m, m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
      const gamma = xi === 0 ? 1 / p.get(j, j) : Math.max(ridge[j], (1 - xi) / p.get(j, j));
      b.set(i, j, xi === 0 && i === j ? 0 : (i === j ? 1 : 0) - p.get(i, j) * gamma);
    }
  }
  const counts = Array.from(squares); // binary test data: Σ X² = Σ X
  const sc = counts.map((n) => (n > 0 ? n ** (1 - alpha) : 1));
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) b.set(i, j, (b.get(i, j) * sc[i]) / sc[j]);
  return b;
}

/** float64 c·B for every context row. */
function referenceScores(x: InteractionMatrix, context: InteractionMatrix, lambda: number, dropout = 0, xi = 0, alpha = 1, beta = 0): Float64Array {
  const m = x.numItems;
  const b = referenceWeights(x, lambda, dropout, xi, alpha, beta);
  const c = context.denseRows(0, context.numUsers);
  const out = new Float64Array(context.numUsers * m);
  for (let u = 0; u < context.numUsers; u++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += c[u * m + i] * b.get(i, j);
    out[u * m + j] = s;
  }
  return out;
}


const CASES = [
  { users: 80, items: 30, side: "items" },
  { users: 80, items: 30, side: "users" },
  { users: 30, items: 80, side: "auto" }, // fewer users: auto takes the user Gram
] as const;

for (const { users, items, side } of CASES) {
  for (const lambda of [1, 10, 100]) {
    test(`EASE (${users} users × ${items} items, side ${side}, λ ${lambda}) matches a float64 closed form`, async (t) => {
      const x = randomMatrix(users, items, 0.2, 3);
      // The test protocol scores a context larger than the training rows (train + validation).
      const context = x.add(randomMatrix(users, items, 0.05, 4));
      const m = x.numItems;
      const model = new EASE({ lambda, side });
      await model.fit(x);
      assert.equal(resolveSide(side, users, items), users < items || side === "users" ? "users" : "items");
      for (const ctx of [x, context]) {
        const want = referenceScores(x, ctx, lambda);
        const out = new Float32Array(ctx.numUsers * m);
        await model.scoreBlock(ctx, 0, ctx.numUsers, out);
        const err = unseenRelativeError(ctx, out, want);
        assert.ok(err < 1e-4, `relative error ${err}`);
        t.diagnostic(`${ctx === x ? "train" : "larger"} context: max relative error of unseen-item scores ${err.toExponential(2)}`);
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

// EDLAE (p, ξ = 0), DLAE (p, ξ = 1), RLAE (p = 0, ξ), RDLAE (p, ξ) on both Grams.
for (const [dropout, xi] of [[0.25, 0], [0.25, 1], [0, 0.2], [0.25, 0.1]] as const) {
  for (const [users, items, side] of [[80, 30, "items"], [80, 30, "users"], [30, 80, "users"]] as const) {
    test(`EASE family p ${dropout}, ξ ${xi} (${users} × ${items}, ${side} side) matches the float64 definition`, async (t) => {
      const x = randomMatrix(users, items, 0.2, 5);
      const context = x.add(randomMatrix(users, items, 0.05, 6));
      const lambda = 5;
      const model = new EASE({ lambda, dropout, diagonalBound: xi, side });
      await model.fit(x);
      for (const ctx of [x, context]) {
        const want = referenceScores(x, ctx, lambda, dropout, xi);
        const out = new Float32Array(ctx.numUsers * items);
        await model.scoreBlock(ctx, 0, ctx.numUsers, out);
        const err = unseenRelativeError(ctx, out, want);
        assert.ok(err < 1e-4, `relative error ${err}`);
        t.diagnostic(`max relative error ${err.toExponential(2)}`);
      }
    });
  }
}

// DAN on EASE/EDLAE (ξ = 0) and on RDLAE (ξ = 0.1), both Grams.
for (const [dropout, xi, alpha, beta] of [[0, 0, 0.8, 0.5], [0.2, 0, 0.6, 1], [0.2, 0.1, 0.8, 0.5]] as const) {
  for (const [users, items, side] of [[80, 30, "items"], [30, 80, "users"]] as const) {
    test(`DAN α ${alpha}, β ${beta} on p ${dropout}, ξ ${xi} (${users} × ${items}, ${side} side) matches the float64 definition`, async (t) => {
      const x = randomMatrix(users, items, 0.2, 9);
      const context = x.add(randomMatrix(users, items, 0.05, 10));
      const lambda = 3;
      const model = new EASE({ lambda, dropout, diagonalBound: xi, itemExponent: alpha, userExponent: beta, side });
      await model.fit(x);
      for (const ctx of [x, context]) {
        const want = referenceScores(x, ctx, lambda, dropout, xi, alpha, beta);
        const out = new Float32Array(ctx.numUsers * items);
        await model.scoreBlock(ctx, 0, ctx.numUsers, out);
        const err = unseenRelativeError(ctx, out, want);
        assert.ok(err < 1e-4, `relative error ${err}`);
        t.diagnostic(`max relative error ${err.toExponential(2)}`);
      }
      assert.deepEqual(model.hyperParameters(), { lambda, dropout, xi, alpha, beta });
    });
  }
}

test("RLAE: diag(B) ≤ ξ, binding exactly where the unconstrained 1 − λ·P_jj exceeds it", () => {
  const x = randomMatrix(60, 20, 0.3, 7);
  const lambda = 10;
  const xi = 0.55;
  const b = referenceWeights(x, lambda, 0, xi);
  const free = referenceWeights(x, lambda, 0, 1); // B = P·G: diag = 1 − λ·P_jj
  let binding = 0;
  for (let j = 0; j < 20; j++) {
    assert.ok(b.get(j, j) <= xi + 1e-12, `B_jj = ${b.get(j, j)}`);
    if (free.get(j, j) > xi) {
      binding++;
      assert.ok(Math.abs(b.get(j, j) - xi) < 1e-12);
    } else assert.ok(Math.abs(b.get(j, j) - free.get(j, j)) < 1e-12);
  }
  const diag = Array.from({ length: 20 }, (_, j) => free.get(j, j).toFixed(2)).join(" ");
  assert.ok(binding > 0 && binding < 20, `unconstrained diagonal ${diag}: ${binding} of 20 diagonal entries binding: the case should test both branches`);
});

test("EASE family: bad p or ξ, and the device engine for anything but plain EASE, are refused", async () => {
  assert.throws(() => new EASE({ lambda: 1, dropout: 1 }), /dropout p must be in \[0, 1\)/);
  assert.throws(() => new EASE({ lambda: 1, diagonalBound: -0.1 }), /diagonal bound ξ must be in \[0, 1\]/);
  assert.throws(() => new EASE({ lambda: 1, itemExponent: 1.5 }), /item exponent α must be in \[0, 1\]/);
  assert.throws(() => new EASE({ lambda: 1, userExponent: -1 }), /user exponent β must be finite and ≥ 0/);
  await assert.rejects(new EASE({ lambda: 1, dropout: 0.2, engine: "device", name: "edlae" }).fit(randomMatrix(10, 5, 0.5, 8)), /edlae: the device engine implements plain EASE only/);
});

test("EASE family: a dropout fit leaves the grid's shared item Gram as it was (the next candidate equals a fresh fit)", async () => {
  const x = randomMatrix(60, 25, 0.25, 11);
  const scratch = new FitScratch();
  await new EASE({ lambda: 5, dropout: 0.3, scratch, side: "items" }).fit(x);
  const shared = new EASE({ lambda: 5, scratch, side: "items" });
  const fresh = new EASE({ lambda: 5, side: "items" });
  await shared.fit(x);
  await fresh.fit(x);
  const a = new Float32Array(60 * 25);
  const b = new Float32Array(60 * 25);
  await shared.scoreBlock(x, 0, 60, a);
  await fresh.scoreBlock(x, 0, 60, b);
  assert.deepEqual(a, b);
});

test("EASE user side: λ after λ on the grid's shared user Gram (factored over itself, then restored) equals fresh fits", async () => {
  const x = randomMatrix(30, 70, 0.25, 12);
  const scratch = new FitScratch();
  for (const [lambda, dropout] of [[5, 0], [20, 0], [5, 0.3], [1, 0]] as const) {
    const shared = new EASE({ lambda, dropout, scratch, side: "users" });
    const fresh = new EASE({ lambda, dropout, side: "users" });
    await shared.fit(x);
    await fresh.fit(x);
    const a = new Float32Array(30 * 70);
    const b = new Float32Array(30 * 70);
    await shared.scoreBlock(x, 0, 30, a);
    await fresh.scoreBlock(x, 0, 30, b);
    assert.deepEqual(a, b, `λ ${lambda}, p ${dropout}`);
  }
});
