import assert from "node:assert/strict";
import { test } from "node:test";
import { rawFromRows } from "../../lib/data/text.ts";
import { activeUsers, periodData } from "../../lib/continual/protocol.ts";
import { type ContinualOptions, periodFacts, runContinual } from "../../lib/continual/run.ts";
import { Rng } from "../../lib/random.ts";

/** 30 users in two taste groups over 24 items, 360 ratings in random time order. */
function log() {
  const rng = new Rng(11);
  const rows: { user: string; item: string; timestamp: number }[] = [];
  for (let u = 0; u < 30; u++) {
    const base = u % 2 ? 12 : 0;
    for (const i of rng.shuffle(Array.from({ length: 12 }, (_, k) => base + k)).slice(0, 12)) {
      rows.push({ user: `u${u}`, item: `i${i}`, timestamp: Math.floor(rng.next() * 1e6) });
    }
  }
  return rawFromRows(rows);
}

const OPTIONS: ContinualOptions = {
  periods: 3,
  methods: ["joint", "individual", "ader", "distill-cf"],
  budget: 8,
  vae: { hidden: [8], latent: 4, lr: 1e-2, dropout: 0.5, betaMax: 0.2, epochs: 2, batchSize: 16 },
  aderLambdaBase: 1,
  distill: { steps: 1, gamma: 2, validateEvery: 1, samplingWorkers: 0 },
  seed: 5,
};

test("runContinual: four methods, period 0 shared, replay budgets honoured", async () => {
  const raw = log();
  const points = await runContinual(raw, OPTIONS);
  assert.equal(points.length, 2 * 4);
  const first = points.filter((p) => p.period === 0);
  for (const p of first) {
    assert.deepEqual(p.metrics, first[0].metrics, `${p.method} trains period 0 like the others`);
    assert.equal(p.replayRows, 0);
  }
  const facts = periodFacts(raw, 3);
  const second = new Map(points.filter((p) => p.period === 1).map((p) => [p.method, p]));
  assert.equal(second.get("individual")?.trainRows, facts[1].users);
  assert.equal(second.get("ader")?.replayRows, 8);
  assert.equal(second.get("distill-cf")?.replayRows, 8);
  assert.equal(second.get("ader")?.trainRows, facts[1].users + 8);
  assert.ok((second.get("ader")?.aderLambda ?? 0) > 0);
  assert.equal(second.get("joint")?.trainRows, activeUsers(periodData(raw, 3).histories[1]).length);
  for (const p of points) {
    assert.equal(p.metrics.users, facts[p.period + 1].evaluatedUsers);
    assert.ok(p.metrics["HR@10"] >= 0 && p.metrics["HR@10"] <= 100);
  }
});

test("runContinual refuses a budget of 0 and a single period", async () => {
  await assert.rejects(runContinual(log(), { ...OPTIONS, budget: 0 }), /budget/);
  await assert.rejects(runContinual(log(), { ...OPTIONS, periods: 1 }), /periods/);
});
