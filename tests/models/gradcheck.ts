/** Central finite-difference gradient check in float64, shared by the model tests. */
import { Rng } from "../../lib/random.ts";

export interface GradCheck {
  /** ‖analytic − numeric‖₂ / max(‖analytic‖₂, ‖numeric‖₂). */
  relativeError: number;
  /** max_k |analytic_k − numeric_k| / max(1, |numeric_k|). */
  maxCoordinateError: number;
  checked: number;
}

/**
 * `lossGrad(p, g)` returns the loss at p and adds its gradient into g.
 * Checks every coordinate (tiny models) or `sample` random ones.
 */
export function gradCheck(
  params: Float64Array, lossGrad: (p: Float64Array, g: Float64Array) => number, sample = Infinity, h = 1e-5,
): GradCheck {
  const g = new Float64Array(params.length);
  lossGrad(params, g);
  const scratch = new Float64Array(params.length);
  const coords: number[] = [];
  if (sample >= params.length) for (let k = 0; k < params.length; k++) coords.push(k);
  else {
    const rng = new Rng(7);
    for (let t = 0; t < sample; t++) coords.push(rng.int(params.length));
  }
  let diff2 = 0;
  let a2 = 0;
  let n2 = 0;
  let maxErr = 0;
  for (const k of coords) {
    const keep = params[k];
    params[k] = keep + h;
    const lp = lossGrad(params, scratch.fill(0));
    params[k] = keep - h;
    const lm = lossGrad(params, scratch.fill(0));
    params[k] = keep;
    const num = (lp - lm) / (2 * h);
    diff2 += (g[k] - num) ** 2;
    a2 += g[k] ** 2;
    n2 += num ** 2;
    maxErr = Math.max(maxErr, Math.abs(g[k] - num) / Math.max(1, Math.abs(num)));
  }
  return { relativeError: Math.sqrt(diff2) / Math.max(Math.sqrt(a2), Math.sqrt(n2), 1e-300), maxCoordinateError: maxErr, checked: coords.length };
}

export function randomParams(n: number, std: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const p = new Float64Array(n);
  for (let k = 0; k < n; k++) p[k] = std * (2 * rng.next() - 1) * Math.sqrt(3);
  return p;
}
