import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { aderLambda, chooseExemplars, distillationTargets, herding } from "../../lib/continual/ader.ts";
import { binarizeTopK, distillDataset } from "../../lib/continual/distill-memory.ts";
import { ContinualVae, selfTargets, type VaeTrainConfig } from "../../lib/continual/vae-learner.ts";
import { initVaeParams } from "../../lib/models/multvae.ts";
import { Rng } from "../../lib/random.ts";

const SMALL: VaeTrainConfig = { hidden: [16], latent: 4, lr: 1e-2, dropout: 0.5, betaMax: 0.2, epochs: 40, batchSize: 8 };

/** 40 users over 20 items: users 0–19 take 5 of items 0–9, users 20–39 5 of items 10–19. */
function twoClusters(seed = 3): InteractionMatrix {
  const rng = new Rng(seed);
  const us: number[] = [];
  const is: number[] = [];
  for (let u = 0; u < 40; u++) {
    const base = u < 20 ? 0 : 10;
    const items = rng.shuffle(Array.from({ length: 10 }, (_, k) => base + k)).slice(0, 5);
    for (const i of items) {
      us.push(u);
      is.push(i);
    }
  }
  return InteractionMatrix.fromTriplets(40, 20, us, is);
}

describe("ContinualVae", () => {
  test("starts from MultVae's initialisation and learns the clusters", () => {
    const m = twoClusters();
    const vae = ContinualVae.fresh(20, SMALL, 7);
    assert.deepEqual(vae.params, initVaeParams({ numItems: 20, hidden: [16], latent: 4 }, new Rng(7)));
    vae.train(selfTargets(m), 1);
    const out = new Float32Array(2 * 20);
    vae.logits(m, Int32Array.from([0, 25]), out);
    // Each user's 5 best-scored items outside its history lie in its own cluster.
    for (const [r, u, lo] of [[0, 0, 0], [1, 25, 10]]) {
      const own = new Set(m.rowItems(u));
      const rest = Array.from({ length: 20 }, (_, i) => i).filter((i) => !own.has(i));
      rest.sort((a, b) => out[r * 20 + b] - out[r * 20 + a]);
      for (const i of rest.slice(0, 5)) assert.ok(i >= lo && i < lo + 10, `user ${u}: item ${i} ranked among its cluster's`);
    }
  });

  test("a clone is a warm start: same parameters, trained independently", () => {
    const m = twoClusters();
    const a = ContinualVae.fresh(20, { ...SMALL, epochs: 2 }, 1);
    a.train(selfTargets(m), 1);
    const before = a.params.slice();
    const b = a.clone();
    assert.deepEqual(b.params, a.params);
    b.train(selfTargets(m), 2);
    assert.deepEqual(a.params, before, "training the clone leaves the original alone");
    assert.notDeepEqual(b.params, before);
  });

  test("rejects targets of another shape", () => {
    const m = twoClusters();
    const vae = ContinualVae.fresh(20, SMALL, 1);
    assert.throws(() => vae.train({ inputs: m, targets: m.selectUsers([0, 1]) }, 1), /targets 2×20/);
  });
});

describe("ADER", () => {
  test("λ_t = λ_base·√((|I_old|/|I_new|)·(|E|/|D|))", () => {
    assert.equal(aderLambda(1, 100, 400, 50, 200), 0.25);
    assert.equal(aderLambda(2, 100, 100, 50, 50), 2);
    assert.throws(() => aderLambda(1, 100, 50, 1, 1), /old items/);
  });

  test("herding picks the row nearest the mean, then the row that keeps the running mean nearest", () => {
    // Rows a = (1, 0), b = (0, 1), c = (1, 1) (normalised to (0.707, 0.707)); mean ≈ (0.569, 0.569).
    const f = Float64Array.from([1, 0, 0, 1, 3, 3]);
    assert.deepEqual(Array.from(herding(f, 3, 2, 2)), [2, 0], "c first; then a and b tie and the lower row wins");
    assert.deepEqual(Array.from(herding(f, 3, 2, 5)).sort(), [0, 1, 2]);
  });

  test("exemplars are rows of the pool; distillation targets are the teacher's softmax over old items, scaled", () => {
    const m = twoClusters();
    const teacher = ContinualVae.fresh(20, { ...SMALL, epochs: 5 }, 1);
    teacher.train(selfTargets(m), 1);
    const ex = chooseExemplars(teacher, m, 6);
    assert.equal(ex.numUsers, 6);
    const poolRows = new Set(Array.from({ length: 40 }, (_, u) => Array.from(m.rowItems(u)).join(",")));
    for (let r = 0; r < 6; r++) assert.ok(poolRows.has(Array.from(ex.rowItems(r)).join(",")));
    const old = new Uint8Array(20);
    for (let i = 0; i < 15; i++) old[i] = 1;
    const targets = distillationTargets(teacher, ex, old, 0.5);
    const logits = new Float32Array(6 * 20);
    teacher.logits(ex, Int32Array.from([0, 1, 2, 3, 4, 5]), logits);
    for (let r = 0; r < 6; r++) {
      assert.deepEqual(Array.from(targets.rowItems(r)), Array.from({ length: 15 }, (_, i) => i), "old items only");
      const v = targets.rowValues(r);
      const sum = v.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 0.5 * ex.rowNnz(r)) < 1e-4, `row ${r} sums to λ·n`);
      // Ratios follow the teacher's logits: v_i / v_j = exp(l_i − l_j).
      assert.ok(Math.abs(Math.log(v[3] / v[7]) - (logits[r * 20 + 3] - logits[r * 20 + 7])) < 1e-4);
    }
  });
});

describe("DISTILL-CF memory", () => {
  test("binarizeTopK keeps each row's k largest entries", () => {
    const m = InteractionMatrix.fromTriplets(2, 5, [0, 0, 0, 0, 1], [0, 1, 3, 4, 2], [0.2, 0.9, 0.5, 0.1, 0.3]);
    const b = binarizeTopK(m, 2);
    assert.deepEqual(Array.from(b.rowItems(0)), [1, 3]);
    assert.deepEqual(Array.from(b.rowItems(1)), [2], "a row with fewer entries keeps them all");
    assert.deepEqual(Array.from(b.values), [1, 1, 1]);
  });

  test("the distillation dataset holds out ⌈20%⌉ of each row's items, the rest distilled", () => {
    const m = twoClusters();
    const ds = distillDataset("p", m, Array.from({ length: 20 }, (_, i) => `i${i}`), 5);
    for (let u = 0; u < 40; u++) {
      assert.equal(ds.validation.rowNnz(u), 1);
      assert.equal(ds.train.rowNnz(u), 4);
      const both = [...ds.train.rowItems(u), ...ds.validation.rowItems(u)].sort((a, b) => a - b);
      assert.deepEqual(both, Array.from(m.rowItems(u)));
    }
    assert.equal(ds.test.nnz, 0);
  });
});
