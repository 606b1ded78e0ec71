/**
 * Numeric helpers shared by the finite-width baselines. Every loss and
 * gradient routine takes `Vec` so the same formula code runs in Float32
 * (training) and Float64 (finite-difference gradient checks).
 */
import type { Rng } from "../../random.ts";

export type Vec = Float32Array | Float64Array;

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** log σ(x) = −softplus(−x). */
export function logSigmoid(x: number): number {
  return -softplus(-x);
}

/** Standard normal draw (Box–Muller, one value per call for determinism). */
export function gaussian(rng: Rng): number {
  let u = rng.next();
  while (u <= 1e-12) u = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Fills p[offset, offset+len) with N(0, std²). */
export function initNormal(rng: Rng, p: Vec, offset: number, len: number, std: number): void {
  for (let k = 0; k < len; k++) p[offset + k] = std * gaussian(rng);
}

/** Glorot/Xavier uniform for a fanIn × fanOut weight matrix. */
export function initGlorot(rng: Rng, p: Vec, offset: number, fanIn: number, fanOut: number): void {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  for (let k = 0; k < fanIn * fanOut; k++) p[offset + k] = a * (2 * rng.next() - 1);
}

/** Dot product of p[a, a+n) and q[b, b+n). */
export function dot(p: Vec, a: number, q: Vec, b: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += p[a + k] * q[b + k];
  return s;
}

/** Sum of squares of p[a, a+n). */
export function sumSquares(p: Vec, a: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += p[a + k] * p[a + k];
  return s;
}

/** Checks a positive integer option and names it in the error. */
export function requirePositiveInt(where: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${name} must be a positive integer, got ${v}`);
  return v;
}

export function requireNonNegative(where: string, name: string, v: number): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${where}: ${name} must be a finite number ≥ 0, got ${v}`);
  return v;
}
