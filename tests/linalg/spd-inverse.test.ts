/**
 * spdInverseGemm (L⁻ᵀ·L⁻¹ with the product on ORT) against the float64
 * reference inverse (cholesky.ts `spdInverse`): ≤ 1e-12 relative on a random
 * SPD matrix, exactly symmetric, the shift honoured, a singular matrix refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SingularKernelError, spdInverse } from "../../lib/linalg/cholesky.ts";
import { spdInverseGemm, symmetriseInPlace } from "../../lib/linalg/spd-inverse.ts";
import { getBackend } from "../../lib/onnx/backend.ts";
import { lcg, relErr } from "../helpers.ts";

test("spdInverseGemm: the reference inverse to 1e-12, exactly symmetric, with the shift", async (t) => {
  const backend = await getBackend({ device: "cpu" });
  const n = 37;
  const rand = lcg(5);
  const x = new Float64Array(n * 50).map(() => rand() - 0.4);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let p = 0; p < 50; p++) a[i * n + j] += x[i * 50 + p] * x[j * 50 + p];
  const shift = 0.3;
  const got = await spdInverseGemm(backend, a, n, { shift });
  const shifted = a.map((v, q) => (q % (n + 1) === 0 ? v + shift : v));
  const err = relErr(got, spdInverse(shifted, n));
  t.diagnostic(`relative error ${err.toExponential(2)}`);
  assert.ok(err <= 1e-12, `relative error ${err}`);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(got[i * n + j], got[j * n + i]);
  const singular = new Float64Array(4).fill(1);
  await assert.rejects(spdInverseGemm(backend, singular, 2, { minPivotRatio: 1e-13 }), SingularKernelError);
  assert.deepEqual(Array.from(symmetriseInPlace(Float64Array.from([1, 2, 4, 3]), 2)), [1, 3, 3, 3]);
});
