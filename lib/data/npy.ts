/**
 * Reading NumPy `.npy` arrays and `.npz` archives (zip, via fflate).
 * Only the numeric little-endian dtypes our data uses are supported.
 */
import { unzipSync } from "fflate";

export type NpyArray = Float64Array | Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array;

export interface Npy {
  dtype: string;
  shape: number[];
  data: NpyArray;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses one .npy file's bytes. `what` names it in errors. */
export function parseNpy(bytes: Uint8Array, what = "npy"): Npy {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error(`${what}: not a NumPy .npy file (bad magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else {
    throw new Error(`${what}: unsupported .npy version ${major}`);
  }
  if (offset + headerLen > bytes.length) throw new Error(`${what}: truncated .npy header`);
  const header = new TextDecoder().decode(bytes.subarray(offset, offset + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${what}: malformed .npy header: ${header.trim()}`);
  if (fortran === "True") throw new Error(`${what}: Fortran-order arrays are not supported`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const kinds: Record<string, [number, (buf: ArrayBuffer, n: number) => NpyArray]> = {
    "<f8": [8, (b, n) => new Float64Array(b, 0, n)],
    "<f4": [4, (b, n) => new Float32Array(b, 0, n)],
    "<i4": [4, (b, n) => new Int32Array(b, 0, n)],
    "<i8": [8, (b, n) => new BigInt64Array(b, 0, n)],
    "<i2": [2, (b, n) => new Int16Array(b, 0, n)],
    "|u1": [1, (b, n) => new Uint8Array(b, 0, n)],
    "|i1": [1, (b, n) => new Int8Array(b, 0, n)],
    "|b1": [1, (b, n) => new Uint8Array(b, 0, n)],
  };
  const kind = kinds[descr];
  if (!kind) throw new Error(`${what}: unsupported dtype ${descr}`);
  const [size, make] = kind;
  if (start + count * size > bytes.length) {
    throw new Error(`${what}: truncated data (${bytes.length - start} bytes for ${count} × ${descr})`);
  }
  // Copy into a fresh aligned buffer: the zip entry's offset need not be aligned.
  const buf = bytes.slice(start, start + count * size).buffer;
  return { dtype: descr, shape, data: make(buf, count) };
}

/** Parses every array of a .npz archive. */
export function parseNpz(bytes: Uint8Array, what = "npz"): Record<string, Npy> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${what}: not a readable .npz (zip) archive: ${(e as Error).message}`);
  }
  const out: Record<string, Npy> = {};
  for (const [name, data] of Object.entries(entries)) {
    const key = name.endsWith(".npy") ? name.slice(0, -4) : name;
    out[key] = parseNpy(data, `${what}/${name}`);
  }
  return out;
}

/** Converts any integer npy payload to Int32 (checks the range). */
export function toInt32(a: NpyArray, what: string): Int32Array {
  if (a instanceof Int32Array) return a;
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = Number(a[i]);
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new Error(`${what}: value ${v} at ${i} is not an int32`);
    out[i] = v;
  }
  return out;
}
