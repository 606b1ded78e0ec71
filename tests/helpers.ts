/** Shared test helpers: temp folders, the embedded dataset, npy writing. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/data/registry.ts";

export const MAGAZINE_DIR = join(REPO_ROOT, "data", "magazine");
export const SHARED_DATA = join(REPO_ROOT, "..", "shared", "data");

export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "infrec-test-"));
  const out = fn(dir);
  if (out instanceof Promise) return out.finally(() => rmSync(dir, { recursive: true, force: true })) as T;
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** Bytes of a version-1 .npy file holding int64 values. */
export function npyInt64(values: number[]): Uint8Array {
  let header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${values.length},), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += " ";
  header += "\n";
  const out = new Uint8Array(10 + header.length + 8 * values.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const v = new BigInt64Array(out.buffer, 10 + header.length, values.length);
  values.forEach((x, i) => (v[i] = BigInt(x)));
  return out;
}

/** A tiny seeded LCG in [0, 1) for test data. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** ‖a − b‖₂ / ‖b‖₂. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Central differences of f at x, entry by entry, step h·max(1, |x_i|). */
export function finiteDiff(f: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    const step = h * Math.max(1, Math.abs(x0));
    x[i] = x0 + step;
    const fp = f(x);
    x[i] = x0 - step;
    const fm = f(x);
    x[i] = x0;
    g[i] = (fp - fm) / (2 * step);
  }
  return g;
}
