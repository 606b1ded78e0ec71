import assert from "node:assert/strict";
import { test } from "node:test";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { Adam, RowSet } from "../../lib/models/nn/adam.ts";
import { denseBackward, denseForward } from "../../lib/models/nn/dense.ts";
import { itemGram, resolveUserMode, ridgeFoldIn } from "../../lib/models/nn/foldin.ts";
import { logSigmoid, softplus } from "../../lib/models/nn/math.ts";
import { sampleNegative } from "../../lib/models/nn/negatives.ts";
import { trainLoop } from "../../lib/models/nn/training.ts";
import { Rng } from "../../lib/random.ts";
import { randomParams } from "./gradcheck.ts";

test("dense forward/backward equal plain float64 loops for sizes off the unrolling (rel 1e-12)", () => {
  for (const [B, I, O] of [[1, 1, 1], [3, 5, 7], [6, 9, 4], [5, 4, 13]]) {
    const x = randomParams(B * I, 1, B + I);
    const p = randomParams(I * O + O, 1, O);
    const dy = randomParams(B * O, 1, 99);
    const y = new Float64Array(B * O);
    denseForward(x, B, I, O, p, 0, I * O, y);
    const g = new Float64Array(I * O + O);
    const dx = new Float64Array(B * I);
    denseBackward(x, dy, B, I, O, p, 0, I * O, g, dx);
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
    for (let r = 0; r < B; r++) {
      for (let j = 0; j < O; j++) {
        let s = p[I * O + j];
        for (let k = 0; k < I; k++) s += x[r * I + k] * p[k * O + j];
        close(y[r * O + j], s, `y[${r},${j}]`);
      }
      for (let k = 0; k < I; k++) {
        let s = 0;
        for (let j = 0; j < O; j++) s += dy[r * O + j] * p[k * O + j];
        close(dx[r * I + k], s, `dx[${r},${k}]`);
      }
    }
    for (let k = 0; k < I; k++) {
      for (let j = 0; j < O; j++) {
        let s = 0;
        for (let r = 0; r < B; r++) s += x[r * I + k] * dy[r * O + j];
        close(g[k * O + j], s, `dW[${k},${j}]`);
      }
    }
    for (let j = 0; j < O; j++) {
      let s = 0;
      for (let r = 0; r < B; r++) s += dy[r * O + j];
      close(g[I * O + j], s, `db[${j}]`);
    }
  }
});

test("Adam matches the textbook update and zeroes the consumed gradient", () => {
  const p = Float64Array.from([1, -2, 0.5]);
  const g = Float64Array.from([0.3, -0.1, 2]);
  const adam = new Adam(3, { lr: 0.1 });
  adam.nextStep();
  adam.updateRange(p, g, 0, 3);
  // Step 1: m̂ = g, v̂ = g², so the update is lr · g / (|g| + ε) ≈ lr · sign(g).
  const want = [1 - 0.1, -2 + 0.1, 0.5 - 0.1];
  want.forEach((w, k) => assert.ok(Math.abs(p[k] - w) < 1e-6, `p[${k}] = ${p[k]}`));
  assert.deepEqual(Array.from(g), [0, 0, 0]);
  // Lazy rows: untouched rows keep their values.
  const q = Float64Array.from([1, 1, 1, 1]);
  const gq = Float64Array.from([1, 1, 1, 1]);
  const lazy = new Adam(4, { lr: 0.1 });
  lazy.nextStep();
  lazy.updateRows(q, gq, 0, 2, [1]);
  assert.deepEqual(Array.from(q.subarray(0, 2)), [1, 1]);
  assert.ok(q[2] < 1 && q[3] < 1);
  const rows = new RowSet(4, 10);
  [3, 5, 3, 7, 5].forEach((r) => rows.add(r));
  assert.deepEqual(Array.from(rows.rows.subarray(0, rows.count)), [3, 5, 7]);
  rows.clear();
  rows.add(3);
  assert.equal(rows.count, 1);
  assert.throws(() => new Adam(1, { lr: 0 }), /lr must be > 0/);
});

test("ridge fold-in solves its normal equations (float64, rel 1e-10)", () => {
  const ni = 6;
  const d = 3;
  const V = randomParams(ni * d, 1, 21);
  const gram = itemGram(V, 0, ni, d);
  const items = [1, 4, 5];
  const weights = [1, 0.5, 0.25];
  const opts = { unobservedWeight: 0.3, lambda: 0.7 };
  const out = new Float64Array(d);
  ridgeFoldIn(V, 0, d, gram, items, weights, opts, out, new Float64Array(d * d + d));
  // Residual of (Σ w v vᵀ + α VᵀV + λI) p = Σ w v.
  for (let a = 0; a < d; a++) {
    let lhs = opts.lambda * out[a];
    let rhs = 0;
    for (let i = 0; i < ni; i++) {
      let vp = 0;
      for (let b = 0; b < d; b++) vp += V[i * d + b] * out[b];
      lhs += opts.unobservedWeight * V[i * d + a] * vp;
      const t = items.indexOf(i);
      if (t >= 0) {
        lhs += weights[t] * V[i * d + a] * vp;
        rhs += weights[t] * V[i * d + a];
      }
    }
    assert.ok(Math.abs(lhs - rhs) < 1e-10 * Math.max(1, Math.abs(rhs)), `row ${a}: ${lhs} vs ${rhs}`);
  }
});

test("user mode: learned for the fitted users, fold-in for other matrices", () => {
  const train = InteractionMatrix.fromTriplets(3, 4, [0, 1, 2], [0, 1, 2]);
  const ctx = train.add(InteractionMatrix.fromTriplets(3, 4, [0], [3]));
  const other = InteractionMatrix.fromTriplets(5, 4, [0], [3]);
  assert.equal(resolveUserMode("t", "auto", train, train), "learned");
  assert.equal(resolveUserMode("t", "auto", ctx, train), "learned");
  assert.equal(resolveUserMode("t", "auto", other, train), "foldin");
  assert.equal(resolveUserMode("t", "foldin", train, train), "foldin");
  assert.throws(() => resolveUserMode("t", "learned", other, train), /"learned" but the context has 5 users/);
  assert.throws(() => resolveUserMode("t", "auto", InteractionMatrix.empty(3, 5), train), /5 items/);
});

test("negatives avoid the user's items; stable log-sigmoid", () => {
  const m = InteractionMatrix.fromTriplets(1, 5, [0, 0, 0], [0, 2, 4]);
  const rng = new Rng(1);
  for (let t = 0; t < 200; t++) assert.ok([1, 3].includes(sampleNegative(m, 0, rng)));
  assert.ok(Math.abs(logSigmoid(-800) + 800) < 1e-9);
  assert.ok(Math.abs(softplus(800) - 800) < 1e-9);
  assert.ok(Math.abs(logSigmoid(0) + Math.LN2) < 1e-15);
});

test("training loop stops early and restores the best epoch's parameters", async () => {
  const params = new Float32Array(1);
  const metrics = [1, 3, 2, 2, 2, 9];
  const messages: string[] = [];
  const summary = await trainLoop({
    name: "toy", epochs: 6,
    runEpoch: (e) => {
      params[0] = e;
      return 1 / e;
    },
    snapshot: () => params.slice(), restore: (s) => params.set(s),
    earlyStopping: { evaluate: async () => metrics[params[0] - 1], patience: 2 },
    onProgress: (_f, m) => messages.push(m),
  });
  assert.equal(summary.epochsRun, 4);
  assert.equal(summary.bestEpoch, 2);
  assert.equal(params[0], 2);
  assert.match(messages[0], /toy epoch 1\/6 loss 1\.0000 val 1\.00 eta \d+s/);
  await assert.rejects(trainLoop({ name: "nan", epochs: 2, runEpoch: () => NaN, snapshot: () => params, restore: () => {} }), /loss became NaN/);
});
