/**
 * Per-step settings of DISTILL-CF beyond the paper (issue 14, item 3), each
 * off by default so the official algorithm is unchanged:
 *
 * - a temperature schedule: τ anneals from `start` to `end` over the run's
 *   steps, geometrically (τ_s = start·(end/start)^f) or linearly, with
 *   f = (s − 1)/(steps − 1) for the sample of noise stream s, clamped to
 *   [0, 1]. The schedule is a function of the noise stream, not of the step
 *   that asks: step t samples stream t, and the candidate validated after
 *   step t is stream t + 1 — the support step t + 1 samples — so both see
 *   the same τ and the driver keeps validating that sample instead of
 *   drawing a second one.
 * - a λ pool: the inner solve's λ of step t is drawn uniformly from the pool
 *   with the counter stream STREAM_LAMBDA_POOL (call t), instead of the λ the
 *   last validation picked; validations still pick the summary's λ.
 */
import { STREAM_LAMBDA_POOL, uniform53 } from "./rng.ts";

export type TauScheduleShape = "geometric" | "linear";

export interface TauSchedule {
  start: number;
  end: number;
  shape: TauScheduleShape;
}

/** τ of the sample with noise stream `stream` in a run of `steps` steps (stream 0: the initial candidate, τ = start). */
export function tauAt(schedule: TauSchedule, stream: number, steps: number): number {
  const f = steps <= 1 ? 0 : Math.min(1, Math.max(0, (stream - 1) / (steps - 1)));
  if (f === 0) return schedule.start;
  if (f === 1) return schedule.end;
  return schedule.shape === "linear"
    ? schedule.start + f * (schedule.end - schedule.start)
    : schedule.start * Math.pow(schedule.end / schedule.start, f);
}

/** Throws naming `name` unless the schedule's temperatures are finite and > 0 and its shape is known. */
export function checkTauSchedule(name: string, s: TauSchedule): void {
  for (const [k, v] of [["start", s.start], ["end", s.end]] as const) {
    if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${name}: the ${k} temperature must be a finite number > 0, got ${v}`);
  }
  if (s.shape !== "geometric" && s.shape !== "linear") throw new Error(`${name}: shape must be "geometric" or "linear", got ${String(s.shape)}`);
}

/**
 * "START:END" (geometric) or "START:END:geometric|linear", e.g. "10:0.5".
 * Throws an Error naming `name` (the flag) on anything else.
 */
export function parseTauSchedule(name: string, text: string): TauSchedule {
  const parts = text.split(":").map((p) => p.trim());
  if (parts.length < 2 || parts.length > 3) throw new Error(`${name} must be START:END or START:END:geometric|linear (e.g. 10:0.5), got '${text}'`);
  const num = (p: string): number => (p === "" ? Number.NaN : Number(p));
  const [start, end] = [num(parts[0]), num(parts[1])];
  const shape = parts[2] ?? "geometric";
  if (shape !== "geometric" && shape !== "linear") throw new Error(`${name}: the shape must be geometric or linear, got '${shape}' in '${text}'`);
  if (!(start > 0) || !Number.isFinite(start) || !(end > 0) || !Number.isFinite(end)) {
    throw new Error(`${name}: START and END must be finite numbers > 0, got '${text}'`);
  }
  return { start, end, shape };
}

/** The inner solve's λ of `step`, drawn uniformly from `pool` (seeded, one draw per step). */
export function lambdaFromPool(seed: number, step: number, pool: readonly number[]): number {
  if (pool.length === 0) throw new Error("lambdaFromPool: the pool is empty");
  const index = Math.min(pool.length - 1, Math.floor(uniform53(seed, STREAM_LAMBDA_POOL, step, 0) * pool.length));
  return pool[index];
}

/** "1e-5,1e-3,0.1" → finite numbers (the caller checks their range); throws naming `name`. */
export function parseNumberList(name: string, text: string): number[] {
  const parts = text.split(",").map((p) => p.trim());
  const values = parts.map((p) => (p === "" ? Number.NaN : Number(p)));
  const bad = parts.find((_, i) => !Number.isFinite(values[i]));
  if (parts.length === 0 || bad !== undefined) throw new Error(`${name} must be a comma-separated list of numbers, got '${text}'`);
  return values;
}
