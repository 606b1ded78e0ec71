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
