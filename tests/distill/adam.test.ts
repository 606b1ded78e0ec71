import { test } from "node:test";
import assert from "node:assert/strict";
import { Adam } from "../../lib/distill/adam.ts";

test("standard Adam: first update moves each parameter by ≈ lr against its gradient", () => {
  const p = new Float64Array([1, -2, 3]);
  const adam = new Adam(3, { lr: 0.04 });
  adam.step(p, new Float64Array([5, -0.1, 0]));
  assert.ok(Math.abs(p[0] - (1 - 0.04)) < 1e-9);
  assert.ok(Math.abs(p[1] - (-2 + 0.04)) < 1e-6);
  assert.equal(p[2], 3);
});

test("official step-count quirk: first update ≈ 0.744·lr", () => {
  const p = new Float64Array([0]);
  const adam = new Adam(1, { lr: 0.04, biasCorrectionOffset: 1 });
  adam.step(p, new Float64Array([2]));
  const expected = (0.1 / (1 - 0.81)) / Math.sqrt(0.001 / (1 - 0.998001));
  assert.ok(Math.abs(-p[0] / 0.04 - expected) < 1e-6, `${-p[0] / 0.04}`);
  assert.ok(Math.abs(expected - 0.744) < 1e-3);
});

test("Adam matches a hand-unrolled reference over 3 steps and minimises a quadratic", () => {
  const grads = [0.5, -1, 2];
  const p = new Float64Array([0]);
  const adam = new Adam(1, { lr: 0.1 });
  let m = 0;
  let v = 0;
  let ref = 0;
  for (let t = 1; t <= 3; t++) {
    const g = grads[t - 1];
    adam.step(p, new Float64Array([g]));
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    ref -= (0.1 * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
  }
  assert.ok(Math.abs(p[0] - ref) < 1e-15);
  const x = new Float64Array([3, -4]);
  const opt = new Adam(2, { lr: 0.05 });
  for (let i = 0; i < 2000; i++) opt.step(x, new Float64Array([2 * x[0], 2 * x[1]]));
  assert.ok(Math.abs(x[0]) < 1e-2 && Math.abs(x[1]) < 1e-2, `${x}`);
});

test("Adam rejects bad settings and shapes", () => {
  assert.throws(() => new Adam(2, { lr: 0 }), /lr/);
  assert.throws(() => new Adam(2, { lr: 0.1, beta1: 1 }), /betas/);
  assert.throws(() => new Adam(2, { lr: 0.1 }).step(new Float64Array(2), new Float64Array(3)), /expected 2/);
});
