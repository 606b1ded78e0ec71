/**
 * Shared pieces of the DISTILL-CF step tests (fast.test.ts, device-sample.test.ts,
 * tests/webgpu/distill.webgpu.ts): a tiny random problem with its float64
 * reference, and the statistical checks of a Gumbel noise stream.
 */
import assert from "node:assert/strict";
import { float64GramEngine } from "../../lib/distill/gram-engine.ts";
import type { ReconstructionLoss } from "../../lib/distill/loss.ts";
import { denseUserBatch, distillObjective } from "../../lib/distill/objective.ts";
import type { GumbelSource } from "../../lib/distill/sample.ts";
import { lcg } from "../helpers.ts";

export interface StepCase {
  mu: number;
  items: number;
  rows: number;
  logits: Float64Array;
  /** The real users' binary rows (float32). */
  xb: Float32Array;
  common: { lambda: number; lambda2: number; interactionsPerUser: number; depth: number; loss: ReconstructionLoss };
  gamma: number;
  tau: number;
}

/** A tiny problem: logits near the binary rows, random binary users (the first one empty when asked). */
export function stepCase(
  seed: number,
  mu: number,
  items: number,
  rows: number,
  options: { lambda?: number; depth?: number; loss?: ReconstructionLoss; gamma?: number; tau?: number; emptyFirstUser?: boolean } = {},
): StepCase {
  const rand = lcg(seed);
  const logits = new Float64Array(mu * items).map(() => (rand() < 0.3 ? 1 : 0) + 0.5 * (rand() - 0.5));
  const xb = new Float32Array(rows * items).map(() => (rand() < 0.25 ? 1 : 0));
  if (options.emptyFirstUser) xb.fill(0, 0, items);
  const common = { lambda: options.lambda ?? 0.1, lambda2: 0.5, interactionsPerUser: 3, depth: options.depth ?? 1, loss: options.loss ?? ("softmax" as const) };
  return { mu, items, rows, logits, xb, common, gamma: options.gamma ?? 4, tau: options.tau ?? 2 };
}

/** The float64 reference objective of a case on the given noise (one block of all users). */
export function referenceStep(c: StepCase, noise: GumbelSource): ReturnType<typeof distillObjective> {
  return distillObjective(
    c.logits,
    c.mu,
    c.items,
    denseUserBatch(Float64Array.from(c.xb), c.rows, c.items),
    { ...c.common, engine: float64GramEngine, batchBlock: c.rows, gamma: c.gamma, tau: c.tau },
    noise,
  );
}

/**
 * Two samples of a noise stream (`fill(sample, out)` writes G) look like
 * independent standard Gumbel noise: mean γ_E, variance π²/6, no correlation
 * between the samples or between neighbouring entries.
 */
export function assertGumbelStream(fill: GumbelSource, n = 200000): void {
  const g = new Float64Array(n);
  const g2 = new Float64Array(n);
  fill(0, g);
  fill(1, g2);
  let mean = 0;
  for (const v of g) mean += v;
  mean /= n;
  let variance = 0;
  for (const v of g) variance += (v - mean) ** 2;
  variance /= n;
  // Gumbel(0,1): mean γ_E = 0.5772, variance π²/6 = 1.6449; 5 standard errors for the mean.
  assert.ok(Math.abs(mean - 0.5772) < 5 * Math.sqrt(1.6449 / n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 1.6449) < 0.05, `variance ${variance}`);
  const corr = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i] - mean) * (b[i] - mean);
    return s / a.length / variance;
  };
  assert.ok(Math.abs(corr(g, g2)) < 0.02, `sample-to-sample correlation ${corr(g, g2)}`);
  assert.ok(Math.abs(corr(g.subarray(0, n - 1), g.subarray(1))) < 0.02, "neighbour correlation");
  const again = new Float64Array(n);
  fill(0, again);
  assert.deepEqual(again, g, "deterministic per (sample, entry)");
}
