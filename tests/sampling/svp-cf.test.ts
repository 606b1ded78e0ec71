/**
 * SVP-CF's proxy: the hand-derived BPR gradient against central finite
 * differences (float64), the proxy learning a planted structure, the
 * forgetting counts' invariants, and the sampler dropping the users with the
 * lowest mean forgetting count first.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../lib/random.ts";
import { bprTripleLossGrad, forgettingEvents, SvpCfUserSampler, userForgetting } from "../../lib/sampling/svp-cf.ts";
import { plantedDataset } from "../models/synthetic.ts";

test("BPR triple gradient matches central finite differences (max relative error < 1e-7)", () => {
  const rng = new Rng(4);
  const d = 10;
  const rand = () => Float64Array.from({ length: d }, () => rng.next() * 2 - 1);
  for (let trial = 0; trial < 5; trial++) {
    const p = rand();
    const qi = rand();
    const qj = rand();
    const reg = 0.01 * trial;
    const g = [new Float64Array(d), new Float64Array(d), new Float64Array(d)];
    bprTripleLossGrad(p, qi, qj, reg, g[0], g[1], g[2]);
    const scratch = [new Float64Array(d), new Float64Array(d), new Float64Array(d)];
    const loss = () => bprTripleLossGrad(p, qi, qj, reg, scratch[0], scratch[1], scratch[2]);
    const h = 1e-6;
    let worst = 0;
    [p, qi, qj].forEach((v, which) => {
      for (let f = 0; f < d; f++) {
        const keep = v[f];
        v[f] = keep + h;
        const up = loss();
        v[f] = keep - h;
        const down = loss();
        v[f] = keep;
        const numeric = (up - down) / (2 * h);
        worst = Math.max(worst, Math.abs(numeric - g[which][f]) / Math.max(1e-3, Math.abs(numeric)));
      }
    });
    assert.ok(worst < 1e-7, `trial ${trial}: relative error ${worst}`);
  }
  // Stable at extreme margins.
  const big = new Float64Array(d).fill(30);
  const zero = new Float64Array(d);
  const out = [new Float64Array(d), new Float64Array(d), new Float64Array(d)];
  assert.ok(Number.isFinite(bprTripleLossGrad(big, zero, big, 0, out[0], out[1], out[2])));
  assert.ok(bprTripleLossGrad(big, big, zero, 0, out[0], out[1], out[2]) < 1e-12, "a huge correct margin has ~0 loss");
});

test("the proxy learns the planted clusters and forgetting counts stay within their bounds", () => {
  const { train } = plantedDataset(120, 40, 4, 12, 2);
  const epochs = 12;
  const r = forgettingEvents(train, 3, { epochs });
  assert.equal(r.events.length, train.nnz);
  assert.ok(r.epochAccuracy[epochs - 1] > 0.8, `final training accuracy ${r.epochAccuracy[epochs - 1]}`);
  assert.ok(r.epochLoss[epochs - 1] < r.epochLoss[0], "loss decreases");
  // A forgetting event needs a correct visit before it: at most ⌊epochs / 2⌋ per entry.
  let total = 0;
  for (const e of r.events) {
    assert.ok(e >= 0 && e <= Math.floor(epochs / 2));
    total += e;
  }
  assert.ok(total > 0, "some entries are forgotten");
  // Deterministic per seed.
  assert.deepEqual(forgettingEvents(train, 3, { epochs }).events, r.events);
  const mean = userForgetting(train, r.events);
  for (let u = 0; u < train.numUsers; u++) {
    let s = 0;
    for (let p = train.indptr[u]; p < train.indptr[u + 1]; p++) s += r.events[p];
    assert.equal(mean[u], s / train.rowNnz(u));
  }
});

test("SVP-CF user drops the users with the lowest mean forgetting count first", async () => {
  const { train } = plantedDataset(90, 30, 3, 10, 5);
  const s = new SvpCfUserSampler({ epochs: 10 });
  const r = await s.sample(train, { users: 30 }, 1);
  const mean = s.lastForgetting!;
  const kept = new Set(r.keptUsers);
  const minKept = Math.min(...Array.from(r.keptUsers, (u) => mean[u]));
  for (let u = 0; u < train.numUsers; u++) if (!kept.has(u)) assert.ok(mean[u] <= minKept, `dropped user ${u} (${mean[u]}) above kept minimum ${minKept}`);
  assert.ok(typeof r.info?.proxyFinalAccuracy === "number");
  assert.throws(() => forgettingEvents(train, 1, { factors: 0 }), /factors must be a positive integer/);
  assert.throws(() => forgettingEvents(train, 1, { lr: -1 }), /lr must be/);
});
