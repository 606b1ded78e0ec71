/**
 * The NNGP kernel of the ∞-AE network (lib/ntk/nngp.ts): the float64 reference
 * against a sampled finite-width network, and the float32 ONNX Gram
 * (lib/ntk/nngp-graph.ts) against the float64 reference at depths 1–3.
 * Acceptance for the graph: max relative error ≤ 1e-5 (the measured value is
 * in each test's diagnostic).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { B_STD2, ntkGramReference, W_STD2 } from "../../lib/ntk/ntk.ts";
import { nngpFromDots, nngpGramReference } from "../../lib/ntk/nngp.ts";
import { nngpGram } from "../../lib/ntk/nngp-graph.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { binaryRows, maxRelError, rng, weightedRows } from "../onnx/helpers.ts";

const TOL = 1e-5;

/** Standard normal draws (Box–Muller on a seeded uniform generator). */
function gaussian(seed: number): () => number {
  const u = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/**
 * E[f(x)·f(y)] over random weights of a width-`width` ReLU network in the NTK
 * parameterisation (h = √(W_std²/fan_in)·W·x + b_std·β, W, β ~ N(0, 1)) with
 * `depth` hidden layers and a scalar read-out, by Monte Carlo over `draws`
 * networks. Each read-out's covariance given the last hidden layer is exact:
 * W_std²/width·⟨z(x), z(y)⟩ + b_std², so only the hidden layers are sampled.
 */
function sampledNngp(x: number[], y: number[], depth: number, width: number, draws: number, seed: number): number {
  const g = gaussian(seed);
  const bStd = Math.sqrt(B_STD2);
  let total = 0;
  for (let r = 0; r < draws; r++) {
    let zx = x;
    let zy = y;
    for (let l = 0; l < depth; l++) {
      const scale = Math.sqrt(W_STD2 / zx.length);
      const nx: number[] = new Array(width);
      const ny: number[] = new Array(width);
      for (let i = 0; i < width; i++) {
        let hx = 0;
        let hy = 0;
        for (let j = 0; j < zx.length; j++) {
          const w = g();
          hx += w * zx[j];
          hy += w * zy[j];
        }
        const b = bStd * g();
        nx[i] = Math.max(0, scale * hx + b);
        ny[i] = Math.max(0, scale * hy + b);
      }
      zx = nx;
      zy = ny;
    }
    let dot = 0;
    for (let i = 0; i < width; i++) dot += zx[i] * zy[i];
    total += (W_STD2 / width) * dot + B_STD2;
  }
  return total / draws;
}

test("NNGP reference matches a sampled finite-width ReLU network at depths 1 and 2", (t) => {
  const x = [1, 0, 1, 1, 0, 0];
  const y = [0, 1, 1, 0, 0, 1];
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
  for (const depth of [1, 2]) {
    for (const [a, b] of [[x, y], [x, x]]) {
      const exact = nngpFromDots(dot(a, b), dot(a, a), dot(b, b), a.length, depth);
      const sampled = sampledNngp(a, b, depth, 400, 60, 7 + depth);
      // 24,000 sampled units per layer: Monte Carlo and finite-width errors of about 1% of K.
      const rel = Math.abs(sampled - exact) / exact;
      t.diagnostic(`depth ${depth}: relative ${rel.toExponential(2)}`);
      assert.ok(rel < 0.03, `depth ${depth}: sampled ${sampled}, NNGP ${exact} (relative ${rel})`);
    }
  }
});

test("NNGP reference: depth-1 arc-cosine formula, and it lacks the NTK's derivative term", () => {
  const d = 9;
  const a = weightedRows(4, d, 0.5, 3);
  const k = nngpGramReference(a, 4, a, 4, d, 1);
  const ntk = ntkGramReference(a, 4, a, 4, d, 1);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      let xy = 0;
      let xx = 0;
      let yy = 0;
      for (let t = 0; t < d; t++) (xy += a[i * d + t] * a[j * d + t]), (xx += a[i * d + t] ** 2), (yy += a[j * d + t] ** 2);
      const q = (W_STD2 * xy) / d + B_STD2;
      const n = Math.sqrt(((W_STD2 * xx) / d + B_STD2) * ((W_STD2 * yy) / d + B_STD2));
      const c = Math.min(1, q / n);
      const th = Math.acos(c);
      const q1 = (n / (2 * Math.PI)) * (Math.sin(th) + (Math.PI - th) * c);
      const want = W_STD2 * q1 + B_STD2;
      assert.ok(Math.abs(k[i * 4 + j] - want) <= 1e-12 * want, `K[${i},${j}] ${k[i * 4 + j]} vs ${want}`);
      // Θ = K_NNGP + W_std²·q·(π − t)/(2π) at depth 1: the NTK is strictly larger.
      const derivative = (W_STD2 * q * (Math.PI - th)) / (2 * Math.PI);
      assert.ok(Math.abs(ntk[i * 4 + j] - (want + derivative)) <= 1e-12 * ntk[i * 4 + j], `Θ[${i},${j}]`);
    }
  }
  assert.throws(() => nngpFromDots(1, 1, 1, 3, 0), /depth/);
});

for (const depth of [1, 2, 3]) {
  test(`nngp_gram_norms_d${depth} (float32 ORT) matches the float64 reference within ${TOL}`, async (t) => {
    const be = await getBackend({ device: "cpu" });
    const d = 47;
    const errs: string[] = [];
    for (const [name, a, b] of [
      ["binary", binaryRows(19, d, 0.2, 30 + depth, [0, 4]), binaryRows(13, d, 0.3, 40 + depth, [2])],
      ["weighted", weightedRows(19, d, 0.3, 50 + depth, [1]), weightedRows(13, d, 0.4, 60 + depth)],
    ] as const) {
      // Row blocks of 5 so the blocked path runs more than once.
      const k = await nngpGram(be, a, 19, b, 13, d, { depth, rowBlock: 5 });
      const err = maxRelError(k, nngpGramReference(a, 19, b, 13, d, depth));
      assert.ok(err <= TOL, `${name}: relative error ${err}`);
      const self = await nngpGram(be, a, 19, a, 19, d, { depth });
      const errSelf = maxRelError(self, nngpGramReference(a, 19, a, 19, d, depth));
      assert.ok(errSelf <= TOL, `${name} K(A, A): relative error ${errSelf}`);
      errs.push(`${name} ${err.toExponential(2)}, K(A, A) ${errSelf.toExponential(2)}`);
    }
    t.diagnostic(`max relative error vs float64: ${errs.join("; ")}`);
  });
}

test("nngpGram rejects mismatched shapes", async () => {
  const be = await getBackend({ device: "cpu" });
  await assert.rejects(nngpGram(be, new Float32Array(6), 2, new Float32Array(5), 2, 3), /want 2×3/);
  await assert.rejects(nngpGram(be, new Float32Array(6), 2, new Float32Array(6), 2, 3, { depth: 0 }), /depth/);
});
