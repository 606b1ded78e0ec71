/**
 * The float32 NTK graphs against the float64 reference (lib/ntk/ntk.ts) on
 * ORT CPU (onnxruntime-node) and WASM (onnxruntime-web). Acceptance: max
 * relative error ≤ 1e-5; measured ≈ 2e-7 (see the messages in the asserts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ntkGramReference } from "../../lib/ntk/ntk.ts";
import { getBackend, type Backend, type Device } from "../../lib/onnx/backend.ts";
import { ntkDiag, ntkGram, rowSumSq } from "../../lib/ntk/gram.ts";
import { ntkGraph } from "../../lib/ntk/gram-graph.ts";
import { binaryRows, maxRelError, weightedRows } from "../onnx/helpers.ts";

const TOL = 1e-5;
const na = 23;
const nb = 17;
const d = 61;

function diagReference(a: Float32Array, n: number, depth: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = a.subarray(i * d, (i + 1) * d);
    out[i] = ntkGramReference(row, 1, row, 1, d, depth)[0];
  }
  return out;
}

async function gramGraph(be: Backend, depth: number, a: Float32Array, m: number, b: Float32Array, n: number): Promise<Float32Array> {
  const s = await be.session(ntkGraph("gram", depth));
  const { K } = await be.run(s, { A: { data: a, dims: [m, d] }, B: { data: b, dims: [n, d] } });
  assert.deepEqual(K.dims, [m, n]);
  return K.data as Float32Array;
}

for (const device of ["cpu", "wasm"] as Device[]) {
  for (const depth of [1, 2]) {
    test(`ntk_gram_d${depth} on ${device}: binary rows with empty rows, vs float64 reference`, async (t) => {
      const be = await getBackend({ device });
      const a = binaryRows(na, d, 0.15, 10 + depth, [0, 5]);
      const b = binaryRows(nb, d, 0.3, 20 + depth, [3]);
      b.set(a.subarray(d, 4 * d), 6 * d); // B rows 6..8 duplicate A rows 1..3: c = 1 off the diagonal
      const err = maxRelError(await gramGraph(be, depth, a, na, b, nb), ntkGramReference(a, na, b, nb, d, depth));
      t.diagnostic(`err = ${err.toExponential(2)}`);
      assert.ok(err <= TOL, `max relative error ${err.toExponential(2)} > ${TOL}`);
      // K(A, A) includes the diagonal (c = 1 exactly) and empty-vs-empty pairs.
      const errSelf = maxRelError(await gramGraph(be, depth, a, na, a, na), ntkGramReference(a, na, a, na, d, depth));
      t.diagnostic(`errSelf = ${errSelf.toExponential(2)}`);
      assert.ok(errSelf <= TOL, `K(A,A): max relative error ${errSelf.toExponential(2)} > ${TOL}`);
    });

    test(`ntk_gram_d${depth} on ${device}: weighted rows in [0,1], vs float64 reference`, async (t) => {
      const be = await getBackend({ device });
      const a = weightedRows(na, d, 0.4, 30 + depth, [2]);
      const b = weightedRows(nb, d, 0.6, 40 + depth);
      const err = maxRelError(await gramGraph(be, depth, a, na, b, nb), ntkGramReference(a, na, b, nb, d, depth));
      t.diagnostic(`err = ${err.toExponential(2)}`);
      assert.ok(err <= TOL, `max relative error ${err.toExponential(2)} > ${TOL}`);
    });

    test(`ntkGram (blocked, norms graph) and ntk_diag_d${depth} on ${device}`, async (t) => {
      const be = await getBackend({ device });
      const a = weightedRows(na, d, 0.4, 50 + depth, [4]);
      const ref = ntkGramReference(a, na, a, na, d, depth);
      // rowBlock 5 does not divide 23: the last block is short.
      const k = await ntkGram(be, a, na, a, na, d, { depth, rowBlock: 5 });
      const err = maxRelError(k, ref);
      t.diagnostic(`err = ${err.toExponential(2)}`);
      assert.ok(err <= TOL, `K(A,A) weighted, blocked: max relative error ${err.toExponential(2)} > ${TOL}`);
      const diag = await ntkDiag(be, a, na, d, depth);
      const errDiag = maxRelError(diag, diagReference(a, na, depth));
      t.diagnostic(`errDiag = ${errDiag.toExponential(2)}`);
      assert.ok(errDiag <= TOL, `diag: max relative error ${errDiag.toExponential(2)} > ${TOL}`);
      // Binary rows: the Gram diagonal and the diag graph agree bit for bit.
      const x = binaryRows(na, d, 0.2, 60 + depth, [1]);
      const kx = await gramGraph(be, depth, x, na, x, na);
      const dx = await ntkDiag(be, x, na, d, depth);
      for (let i = 0; i < na; i++) assert.equal(kx[i * na + i], dx[i], `row ${i}`);
      // Precomputed norms and a pre-allocated output view.
      const b = binaryRows(nb, d, 0.3, 70 + depth);
      const buf = new Float32Array(na * nb + 3).fill(-7);
      const out = buf.subarray(2, 2 + na * nb);
      const got = await ntkGram(be, x, na, b, nb, d, { depth, out, bSumSq: await rowSumSq(be, b, nb, d), rowBlock: 8 });
      assert.equal(got, out);
      assert.equal(buf[0], -7);
      assert.equal(buf[na * nb + 2], -7);
      const errNorms = maxRelError(out, ntkGramReference(x, na, b, nb, d, depth));
      t.diagnostic(`errNorms = ${errNorms.toExponential(2)}`);
      assert.ok(errNorms <= TOL, `norms graph: max relative error ${errNorms.toExponential(2)} > ${TOL}`);
    });
  }
}

test("ntkGram rejects bad shapes and depths", async () => {
  const be = await getBackend({ device: "cpu" });
  const a = new Float32Array(6);
  await assert.rejects(() => ntkGram(be, a, 2, a, 2, 4), /ntkGram: A has 6 values/);
  await assert.rejects(() => ntkGram(be, a, 2, a, 2, 3, { depth: 0 }), /depth must be an integer ≥ 1, got 0/);
  await assert.rejects(() => ntkGram(be, a, 2, a, 2, 3, { depth: 1.5 }), /depth must be an integer ≥ 1, got 1.5/);
  await assert.rejects(() => ntkGram(be, a, 2, a, 2, 3, { out: new Float32Array(3) }), /out has 3 values/);
});

test("ntkGram and ntkDiag at depth 3 (graphs built on demand) vs float64 reference", async (t) => {
  const be = await getBackend({ device: "cpu" });
  const a = binaryRows(na, d, 0.2, 80, [0]);
  const err = maxRelError(await ntkGram(be, a, na, a, na, d, { depth: 3, rowBlock: 10 }), ntkGramReference(a, na, a, na, d, 3));
  t.diagnostic(`err = ${err.toExponential(2)}`);
  assert.ok(err <= TOL, `max relative error ${err.toExponential(2)} > ${TOL}`);
  const errDiag = maxRelError(await ntkDiag(be, a, na, d, 3), diagReference(a, na, 3));
  assert.ok(errDiag <= TOL, `diag: max relative error ${errDiag.toExponential(2)} > ${TOL}`);
});

test("ntkGram(X, X) from the lower block triangle: float64 reference ≤ 1e-5, exactly symmetric, = the full computation", async (t) => {
  const be = await getBackend({ device: "cpu" });
  for (const x of [binaryRows(na, d, 0.3, 81), weightedRows(na, d, 0.3, 82)]) {
    // rowBlock 7: blocks that do not divide n, so the mirror crosses block edges.
    const k = await ntkGram(be, x, na, x, na, d, { rowBlock: 7 });
    const err = maxRelError(k, ntkGramReference(x, na, x, na, d, 1));
    t.diagnostic(`err = ${err.toExponential(2)}`);
    assert.ok(err <= TOL, `max relative error ${err.toExponential(2)} > ${TOL}`);
    for (let i = 0; i < na; i++) for (let j = 0; j < i; j++) assert.equal(k[j * na + i], k[i * na + j], `K[${j}][${i}]`);
    const full = await ntkGram(be, x, na, x, na, d, { rowBlock: 7, symmetric: false });
    // The lower triangle is the same products either way (up to the GEMM's blocking).
    const diff = maxRelError(k, Float64Array.from(full));
    assert.ok(diff <= 1e-6, `symmetric vs full: ${diff.toExponential(2)}`);
  }
});
