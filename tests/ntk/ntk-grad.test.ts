import { test } from "node:test";
import assert from "node:assert/strict";
import { ntkFromDots, ntkGramReference } from "../../lib/ntk/ntk.ts";
import { ntkDotsWithGrad, ntkGramBackward, ntkGramF64, ntkGramPartials, ntkSymmetricGramPartials } from "../../lib/ntk/ntk-grad.ts";
import { finiteDiff, relErr } from "../helpers.ts";

/** Small deterministic LCG for test inputs (not the library RNG). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function randomMatrix(rand: () => number, n: number, lo: number, hi: number): Float64Array {
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) m[i] = lo + (hi - lo) * rand();
  return m;
}

function weightedSum(w: ArrayLike<number>, k: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < k.length; i++) s += w[i] * k[i];
  return s;
}

test("ntkGramF64 matches ntkGramReference (bit for bit at depth 1, 1e-14 relative deeper)", () => {
  const rand = lcg(1);
  const d = 9;
  const a = randomMatrix(rand, 5 * d, 0, 1);
  const b = randomMatrix(rand, 4 * d, -1, 1);
  for (const depth of [1, 2, 3]) {
    const mine = ntkGramF64(a, 5, b, 4, d, depth);
    const ref = ntkGramReference(a, 5, b, 4, d, depth);
    if (depth === 1) assert.deepEqual(mine, ref);
    assert.ok(relErr(mine, ref) < 1e-14, `depth ${depth}: ${relErr(mine, ref)}`);
    // Symmetric case: the diagonal is where the two differ by rounding.
    const kaa = ntkGramF64(a, 5, a, 5, d, depth);
    const raa = ntkGramReference(a, 5, a, 5, d, depth);
    assert.ok(relErr(kaa, raa) < 1e-8, `depth ${depth} K(A,A): ${relErr(kaa, raa)}`);
  }
});

test("regression: the diagonal stays on the clipped branch at depth 2 (no arccos jitter)", () => {
  // With ntk.ts's rounding K(x,x) at depth 2 jumps by ~5e-9 relative under a
  // tiny perturbation; here it must be smooth: second differences at steps h
  // and 2h scale like h² (ratio 4), which 5e-9 jitter would swamp.
  // Inputs from seeds 6 and 11 showed ratios 39 and 2.6 with ntkGramReference.
  const d = 12;
  for (let seed = 1; seed <= 11; seed++) {
    const rand = lcg(seed);
    const x = randomMatrix(rand, d, 0, 1);
    const second = (h: number): number => {
      const vals = [-1, 0, 1].map((k) => {
        const z = x.slice();
        z[0] += k * h;
        return ntkGramF64(z, 1, z, 1, d, 2)[0];
      });
      return vals[0] - 2 * vals[1] + vals[2];
    };
    const ratio = second(2e-4) / second(1e-4);
    assert.ok(Math.abs(ratio - 4) < 1e-3, `seed ${seed}: second-difference ratio ${ratio}`);
  }
});

test("per-pair partials match finite differences (depth 1, 2, 3)", (t) => {
  const cases: [number, number, number][] = [
    [3.1, 5.2, 4.4],
    [0.2, 6.0, 1.5],
    [-2.0, 3.0, 4.0],
    [0, 1, 1],
    [0, 0, 2],
  ];
  const d = 7;
  let worst = 0;
  for (const depth of [1, 2, 3]) {
    for (const [xy, xx, yy] of cases) {
      const g = ntkDotsWithGrad(xy, xx, yy, d, depth);
      assert.equal(g[0], ntkFromDots(xy, xx, yy, d, depth));
      const h = 1e-6;
      const fd = [
        (ntkFromDots(xy + h, xx, yy, d, depth) - ntkFromDots(xy - h, xx, yy, d, depth)) / (2 * h),
        (ntkFromDots(xy, xx + h, yy, d, depth) - ntkFromDots(xy, xx - h, yy, d, depth)) / (2 * h),
        (ntkFromDots(xy, xx, yy + h, d, depth) - ntkFromDots(xy, xx, yy - h, d, depth)) / (2 * h),
      ];
      const err = relErr([g[1], g[2], g[3]], fd);
      worst = Math.max(worst, err);
      assert.ok(err < 1e-7, `depth ${depth} (${xy},${xx},${yy}): rel err ${err}`);
    }
  }
  t.diagnostic(`per-pair partials: worst relative error ${worst.toExponential(2)}`);
});

test("clipped pairs: parallel users give the diagonal's exact total derivative", () => {
  // K(x, x) as a function of s = ⟨x,x⟩ alone: d/ds = f_xy + f_xx + f_yy.
  const d = 5;
  for (const depth of [1, 2]) {
    const s = 2.7;
    const g = ntkDotsWithGrad(s, s, s, d, depth);
    const h = 1e-6;
    const fd = (ntkFromDots(s + h, s + h, s + h, d, depth) - ntkFromDots(s - h, s - h, s - h, d, depth)) / (2 * h);
    const err = Math.abs(g[1] + g[2] + g[3] - fd) / Math.abs(fd);
    assert.ok(err < 1e-8, `depth ${depth}: ${err}`);
  }
});

for (const depth of [1, 2]) {
  test(`Gram backward K(A, B) in both arguments, depth ${depth}, vs central differences`, (t) => {
    const rand = lcg(10 + depth);
    const na = 6;
    const nb = 4;
    const d = 12;
    const a = randomMatrix(rand, na * d, 0, 1);
    // B binary like real users' rows, with one all-zero user.
    const b = new Float64Array(nb * d);
    for (let i = 0; i < (nb - 1) * d; i++) b[i] = rand() < 0.3 ? 1 : 0;
    const dK = randomMatrix(rand, na * nb, -1, 1);
    const { dA, dB } = ntkGramBackward(a, na, b, nb, d, depth, dK);
    assert.ok(dA && dB);
    const fdA = finiteDiff((x) => weightedSum(dK, ntkGramF64(x, na, b, nb, d, depth)), a);
    const fdB = finiteDiff((x) => weightedSum(dK, ntkGramF64(a, na, x, nb, d, depth)), b);
    const eA = relErr(dA, fdA);
    const eB = relErr(dB, fdB);
    t.diagnostic(`depth ${depth}: rel err dA ${eA.toExponential(2)}, dB ${eB.toExponential(2)}`);
    assert.ok(eA < 1e-7, `dA rel err ${eA}`);
    assert.ok(eB < 1e-7, `dB rel err ${eB}`);
    const only = ntkGramBackward(a, na, b, nb, d, depth, dK, false, true);
    assert.equal(only.dA, null);
    assert.deepEqual(only.dB, dB);
  });

  test(`Gram backward K(X, X) (X in both arguments, diagonal included), depth ${depth}`, (t) => {
    const rand = lcg(20 + depth);
    const n = 5;
    const d = 12;
    const x = randomMatrix(rand, n * d, 0, 1);
    const dK = randomMatrix(rand, n * n, -1, 1); // not symmetric on purpose
    const { dA, dB } = ntkGramBackward(x, n, x, n, d, depth, dK);
    assert.ok(dA && dB);
    const total = dA.map((v, i) => v + dB[i]);
    const fd = finiteDiff((z) => weightedSum(dK, ntkGramF64(z, n, z, n, d, depth)), x);
    const e = relErr(total, fd);
    t.diagnostic(`depth ${depth}: rel err d/dX of K(X,X) ${e.toExponential(2)}`);
    assert.ok(e < 1e-7, `rel err ${e}`);
  });
}

test("Gram backward rejects bad shapes", () => {
  const a = new Float64Array(6);
  assert.throws(() => ntkGramBackward(a, 2, a, 2, 3, 1, new Float64Array(3)), /dK has 3 values/);
  assert.throws(() => ntkGramBackward(a, 2, a, 3, 3, 1, new Float64Array(6)), /B has 6 values/);
  assert.throws(() => ntkGramF64(a, 2, a, 2, 3, 0), /depth/);
});

test("ntkSymmetricGramPartials equals ntkGramPartials bit for bit on symmetric dots (depths 1–3, with and without ∂K/∂xx)", () => {
  const n = 9;
  const d = 13;
  const rand = lcg(123);
  const x = new Float64Array(n * d).map(() => (rand() < 0.4 ? rand() : 0));
  const dots = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < d; k++) dots[i * n + j] += x[i * d + k] * x[j * d + k];
  // Make the dots exactly symmetric (the loop above already is; be explicit).
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) dots[i * n + j] = dots[j * n + i];
  const norms = new Float64Array(n).map((_, i) => dots[i * n + i]);
  for (const depth of [1, 2, 3]) {
    for (const wantFxx of [true, false]) {
      const full = ntkGramPartials(dots, n, n, norms, norms, d, depth, true, wantFxx);
      const sym = ntkSymmetricGramPartials(dots, n, norms, d, depth, wantFxx);
      assert.deepEqual(sym.k, full.k);
      assert.deepEqual(sym.fxy, full.fxy);
      assert.deepEqual(sym.fyy, full.fyy);
      assert.deepEqual(sym.fxx, full.fxx);
    }
  }
  assert.throws(() => ntkSymmetricGramPartials(dots.subarray(1), n, norms, d, 1, true), /dots, expected/);
});
