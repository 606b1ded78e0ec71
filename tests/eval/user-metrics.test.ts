/** The one-pass per-user metrics equal metrics.ts's functions exactly (same float operations), for every family and cut-off. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { averagePrecision, hitRate, inversePropensity, ndcg, precision, psp, recall, reciprocalRank } from "../../lib/eval/metrics.ts";
import { USER_METRIC_FAMILIES, UserMetrics } from "../../lib/eval/user-metrics.ts";
import { lcg } from "../helpers.ts";

test("UserMetrics = hitRate, ndcg, psp (both normalisations), recall, precision, averagePrecision, reciprocalRank, bit for bit", () => {
  const items = 60;
  const r = lcg(7);
  const counts = Array.from({ length: items }, () => Math.floor(r() * 50));
  const weights = inversePropensity(counts, 1000);
  const ks = [1, 5, 10, 30];
  for (const norm of ["official", "textbook"] as const) {
    const um = new UserMetrics(ks, USER_METRIC_FAMILIES, items, weights, norm);
    for (let user = 0; user < 300; user++) {
      // A ranked list shorter than the largest k now and then (as when items < k).
      const length = user % 7 === 0 ? 12 : 30;
      const perm = Array.from({ length: items }, (_, i) => i).sort(() => r() - 0.5);
      const ranked = Int32Array.from(perm.slice(0, length));
      const nTargets = 1 + Math.floor(r() * 25);
      const targetList = Array.from({ length: nTargets }, () => Math.floor(r() * items)); // repeats count once
      const set = new Set(targetList);
      const got = um.compute(ranked, Int32Array.from(targetList));
      const want: Record<string, (k: number) => number> = {
        HR: (k) => hitRate(ranked, set, k),
        NDCG: (k) => ndcg(ranked, set, k),
        PSP: (k) => psp(ranked, set, k, weights, norm),
        Recall: (k) => recall(ranked, set, k),
        Precision: (k) => precision(ranked, set, k),
        MAP: (k) => averagePrecision(ranked, set, k),
        MRR: (k) => reciprocalRank(ranked, set, k),
      };
      um.keys.forEach((key, j) => {
        const [family, k] = key.split("@");
        assert.equal(got[j], want[family](Number(k)), `${norm} user ${user} ${key}`);
      });
    }
  }
});

test("UserMetrics refuses a user without targets and bad cut-offs", () => {
  const um = new UserMetrics([10], ["HR"], 5, new Float64Array(5).fill(1));
  assert.throws(() => um.compute(Int32Array.from([0, 1]), new Int32Array(0)), /without targets/);
  assert.throws(() => new UserMetrics([0], ["HR"], 5, new Float64Array(5)), /bad cut-off/);
});
