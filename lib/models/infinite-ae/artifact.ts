/**
 * The saved-duals artifact (`.infrec`): everything needed to recommend for a
 * new user without refitting — the support users' rows (sparse), the duals α,
 * λ, depth, item ids and dataset statistics — in one binary file.
 *
 * Layout (little-endian):
 *   "INFREC-DUALS\n" (13 bytes) · u32 format version · u32 header length ·
 *   header (UTF-8 JSON) · zero padding to 8 bytes · sections in header order ·
 *   u32 CRC-32 of every byte before it.
 * Sections: indptr (int32, |S|+1), indices (int32, nnz), values (float32, nnz),
 * alpha (float32 or float16, |S| × items, row-major).
 *
 * Parsing and serialising use no Node APIs, so browsers and the edge module
 * read the same bytes; file I/O lives in artifact-file.ts.
 */
import { InteractionMatrix } from "../../data/matrix.ts";
import type { DatasetStats } from "../../data/dataset.ts";
import { crc32 } from "../../util/checksum.ts";

export { crc32 };

export const ARTIFACT_MAGIC = "INFREC-DUALS\n";
export const ARTIFACT_VERSION = 1;

export type DualsDType = "float32" | "float16";

export interface DualsArtifact {
  model: "inf-ae";
  lambda: number;
  depth: number;
  /** The ridge c = λ·tr(K)/|S| the duals were solved with. */
  shift: number;
  /** Support users' rows (|S| × items). */
  support: InteractionMatrix;
  /** Original ids of the support users when they are real users (empty for summaries). */
  supportUserIds: string[];
  /** Duals, |S| × items, row-major float32 (widened on load when stored as float16). */
  alpha: Float32Array;
  itemIds: string[];
  dataset?: Partial<DatasetStats> & { name?: string; trainedOn?: string };
  /** Storage type of α in the file. */
  alphaDType: DualsDType;
}

interface Header {
  model: "inf-ae";
  lambda: number;
  depth: number;
  shift: number;
  numSupport: number;
  numItems: number;
  nnz: number;
  alphaDType: DualsDType;
  itemIds: string[];
  supportUserIds: string[];
  dataset?: DualsArtifact["dataset"];
  producer: string;
}

// ---- float16 conversion (round to nearest even), for a half-size α.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → ±∞
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

/** Serialises an artifact to bytes. */
export function encodeDuals(a: Omit<DualsArtifact, "alphaDType">, alphaDType: DualsDType = "float32"): Uint8Array {
  const s = a.support;
  const n = s.numUsers;
  const m = s.numItems;
  if (a.alpha.length !== n * m) throw new Error(`encodeDuals: α has ${a.alpha.length} values, expected ${n}×${m}`);
  if (a.itemIds.length !== m) throw new Error(`encodeDuals: ${a.itemIds.length} item ids for ${m} items`);
  const header: Header = {
    model: a.model,
    lambda: a.lambda,
    depth: a.depth,
    shift: a.shift,
    numSupport: n,
    numItems: m,
    nnz: s.nnz,
    alphaDType,
    itemIds: a.itemIds,
    supportUserIds: a.supportUserIds,
    dataset: a.dataset,
    producer: "infrec",
  };
  const magic = new TextEncoder().encode(ARTIFACT_MAGIC);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headStart = magic.length + 8;
  const dataStart = headStart + json.length + pad8(headStart + json.length);
  const alphaBytes = alphaDType === "float16" ? 2 * n * m : 4 * n * m;
  const sizes = [4 * (n + 1), 4 * s.nnz, 4 * s.nnz, alphaBytes];
  let total = dataStart;
  for (const sz of sizes) total += sz + pad8(sz);
  const out = new Uint8Array(total + 4);
  const view = new DataView(out.buffer);
  out.set(magic, 0);
  view.setUint32(magic.length, ARTIFACT_VERSION, true);
  view.setUint32(magic.length + 4, json.length, true);
  out.set(json, headStart);
  let off = dataStart;
  const put = (arr: Int32Array | Float32Array | Uint16Array) => {
    out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), off);
    off += arr.byteLength + pad8(arr.byteLength);
  };
  put(s.indptr);
  put(s.indices);
  put(s.values);
  if (alphaDType === "float16") {
    const h = new Uint16Array(n * m);
    for (let i = 0; i < h.length; i++) h[i] = toFloat16Bits(a.alpha[i]);
    put(h);
  } else put(a.alpha);
  view.setUint32(total, crc32(out.subarray(0, total)), true);
  return out;
}

/** Parses artifact bytes; corrupt, truncated or foreign files give a clear error. */
export function decodeDuals(bytes: Uint8Array, what = "artifact"): DualsArtifact {
  const magic = new TextEncoder().encode(ARTIFACT_MAGIC);
  if (bytes.length < magic.length + 12) throw new Error(`${what}: too short to be an infrec artifact (${bytes.length} bytes)`);
  for (let i = 0; i < magic.length; i++) {
    if (bytes[i] !== magic[i]) throw new Error(`${what}: not an infrec duals artifact (bad magic)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(magic.length, true);
  if (version !== ARTIFACT_VERSION) throw new Error(`${what}: format version ${version}, this infrec reads version ${ARTIFACT_VERSION}`);
  const jsonLen = view.getUint32(magic.length + 4, true);
  const headStart = magic.length + 8;
  if (headStart + jsonLen + 4 > bytes.length) throw new Error(`${what}: truncated (header runs past the end)`);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(headStart, headStart + jsonLen)));
  } catch {
    throw new Error(`${what}: corrupt header`);
  }
  const { numSupport: n, numItems: m, nnz, alphaDType } = header;
  if (![n, m, nnz].every((x) => Number.isInteger(x) && x >= 0) || (alphaDType !== "float32" && alphaDType !== "float16")) {
    throw new Error(`${what}: corrupt header (sizes or dtype)`);
  }
  const dataStart = headStart + jsonLen + pad8(headStart + jsonLen);
  const sizes = [4 * (n + 1), 4 * nnz, 4 * nnz, (alphaDType === "float16" ? 2 : 4) * n * m];
  let total = dataStart;
  for (const sz of sizes) total += sz + pad8(sz);
  if (bytes.length < total + 4) throw new Error(`${what}: truncated (${bytes.length} bytes, expected ${total + 4})`);
  if (bytes.length > total + 4) throw new Error(`${what}: ${bytes.length - total - 4} unexpected trailing bytes`);
  const stored = view.getUint32(total, true);
  if (crc32(bytes.subarray(0, total)) !== stored) throw new Error(`${what}: checksum mismatch (the file is corrupt)`);
  let off = dataStart;
  const take = (sz: number): ArrayBuffer => {
    const buf = bytes.slice(off, off + sz).buffer; // aligned copy
    off += sz + pad8(sz);
    return buf;
  };
  const indptr = new Int32Array(take(sizes[0]));
  const indices = new Int32Array(take(sizes[1]));
  const values = new Float32Array(take(sizes[2]));
  let alpha: Float32Array;
  if (alphaDType === "float16") {
    const h = new Uint16Array(take(sizes[3]));
    alpha = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) alpha[i] = fromFloat16Bits(h[i]);
  } else alpha = new Float32Array(take(sizes[3]));
  for (let p = 0; p < indices.length; p++) {
    if (indices[p] < 0 || indices[p] >= m) throw new Error(`${what}: corrupt support rows (item index ${indices[p]})`);
  }
  return {
    model: header.model,
    lambda: header.lambda,
    depth: header.depth,
    shift: header.shift,
    support: new InteractionMatrix(n, m, indptr, indices, values),
    supportUserIds: header.supportUserIds,
    alpha,
    itemIds: header.itemIds,
    dataset: header.dataset,
    alphaDType,
  };
}
