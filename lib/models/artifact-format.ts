/**
 * The one artifact container every saved model (∞-AE, EASE, PopRec) uses: a
 * shared header that names the model kind, the item ids, the dataset's users
 * with their histories and the dataset statistics, followed by the model's
 * named numeric sections.
 *
 * Layout (little-endian), format version 2:
 *   "INFREC-DUALS\n" (13 bytes; the name predates the other kinds) · u32 format
 *   version · u32 header length · header (UTF-8 JSON) · zero padding to 8 bytes ·
 *   sections in header order, each padded to 8 bytes · u32 CRC-32 of every byte
 *   before it.
 * Version 1 is ∞-AE only (infinite-ae/artifact.ts still reads it); keeping the
 * magic makes an older infrec name the version it cannot read.
 *
 * No Node APIs: browsers and the edge module read the same bytes.
 */
import type { DatasetStats } from "../data/dataset.ts";
import { InteractionMatrix } from "../data/matrix.ts";
import { crc32 } from "../util/checksum.ts";
import type { HyperParameters } from "./model.ts";

export const ARTIFACT_MAGIC = "INFREC-DUALS\n";
/** The shared container's version; 1 was the ∞-AE-only layout. */
export const ARTIFACT_VERSION = 2;

/** Model kinds with a saved form. */
export const ARTIFACT_KINDS = ["inf-ae", "ease", "pop"] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** Storage types of numeric sections; float16 sections widen to float32 on load. */
export type SectionDType = "int32" | "float32" | "float16";

/** Where the artifact came from. `trainedOn` says what the model was fitted on ("train split", "all", a file). */
export type ArtifactDataset = Partial<DatasetStats> & { name?: string; trainedOn?: string };

/**
 * Real users of the dataset and what is known about them, so that `recommend
 * --user ID` needs no dataset: row u of `seen` holds user `ids[u]`'s items
 * (the context they are scored from, and the items excluded from their list).
 */
export interface UserHistories {
  ids: string[];
  seen: InteractionMatrix;
}

/** What every artifact carries, whatever the model. */
export interface ArtifactCommon {
  itemIds: string[];
  users?: UserHistories;
  dataset?: ArtifactDataset;
  hyperParameters?: HyperParameters;
}

export interface SectionSpec {
  name: string;
  dtype: SectionDType;
  length: number;
}

/** The JSON header's shared fields. */
export interface SharedHeader {
  model: ArtifactKind;
  itemIds: string[];
  userIds?: string[];
  dataset?: ArtifactDataset;
  hyperParameters?: HyperParameters;
  sections: SectionSpec[];
  producer: string;
}

/** The JSON header: the shared fields, the model's own values (λ, ∞-AE's shift, …) and the section table. */
export type ContainerHeader = SharedHeader & Record<string, unknown>;

/** What a model's encoder gives: the shared fields it knows and its own values. */
export type HeaderInput = Pick<SharedHeader, "model" | "itemIds" | "dataset" | "hyperParameters"> & Record<string, unknown>;

export interface Section {
  name: string;
  dtype: SectionDType;
  data: Int32Array | Float32Array;
}

export interface DecodedContainer {
  header: ContainerHeader;
  /** Section name → values (float16 widened to float32). */
  sections: Map<string, Int32Array | Float32Array>;
}

// ---- float16 conversion (round to nearest even), for half-size float sections.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
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

export const pad8 = (n: number): number => (8 - (n % 8)) % 8;
const BYTES: Record<SectionDType, number> = { int32: 4, float32: 4, float16: 2 };

/** The sections of a user-history matrix (CSR), named `seen.*`. */
export function historySections(seen: InteractionMatrix): Section[] {
  return [
    { name: "seen.indptr", dtype: "int32", data: seen.indptr },
    { name: "seen.indices", dtype: "int32", data: seen.indices },
    { name: "seen.values", dtype: "float32", data: seen.values },
  ];
}

/** Serialises a header (without its section table) and sections into one container. */
export function encodeContainer(
  header: HeaderInput,
  sections: readonly Section[],
  users?: UserHistories,
): Uint8Array {
  const all = [...sections];
  if (users) {
    if (users.ids.length !== users.seen.numUsers) throw new Error(`artifact: ${users.ids.length} user ids for ${users.seen.numUsers} history rows`);
    if (users.seen.numItems !== header.itemIds.length) throw new Error(`artifact: user histories have ${users.seen.numItems} items, the model ${header.itemIds.length}`);
    all.push(...historySections(users.seen));
  }
  const full: ContainerHeader = {
    ...header,
    ...(users ? { userIds: users.ids } : {}),
    sections: all.map((s) => ({ name: s.name, dtype: s.dtype, length: s.data.length })),
    producer: "infrec",
  };
  const magic = new TextEncoder().encode(ARTIFACT_MAGIC);
  const json = new TextEncoder().encode(JSON.stringify(full));
  const headStart = magic.length + 8;
  const dataStart = headStart + json.length + pad8(headStart + json.length);
  let total = dataStart;
  for (const s of all) {
    const size = BYTES[s.dtype] * s.data.length;
    total += size + pad8(size);
  }
  const out = new Uint8Array(total + 4);
  const view = new DataView(out.buffer);
  out.set(magic, 0);
  view.setUint32(magic.length, ARTIFACT_VERSION, true);
  view.setUint32(magic.length + 4, json.length, true);
  out.set(json, headStart);
  let off = dataStart;
  for (const s of all) {
    if (s.dtype === "float16") {
      const h = new Uint16Array(s.data.length);
      for (let i = 0; i < h.length; i++) h[i] = toFloat16Bits(s.data[i]);
      out.set(new Uint8Array(h.buffer), off);
    } else {
      if ((s.dtype === "int32") !== (s.data instanceof Int32Array)) throw new Error(`artifact: section ${s.name} is not ${s.dtype}`);
      out.set(new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength), off);
    }
    const size = BYTES[s.dtype] * s.data.length;
    off += size + pad8(size);
  }
  view.setUint32(total, crc32(out.subarray(0, total)), true);
  return out;
}

/** The format version of artifact bytes (after checking the magic). */
export function containerVersion(bytes: Uint8Array, what: string): number {
  const magic = new TextEncoder().encode(ARTIFACT_MAGIC);
  if (bytes.length < magic.length + 12) throw new Error(`${what}: too short to be an infrec artifact (${bytes.length} bytes)`);
  for (let i = 0; i < magic.length; i++) {
    if (bytes[i] !== magic[i]) throw new Error(`${what}: not an infrec artifact (bad magic)`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(magic.length, true);
}

/** Parses a version-2 container; corrupt, truncated or foreign bytes give a clear error. */
export function decodeContainer(bytes: Uint8Array, what = "artifact"): DecodedContainer {
  const version = containerVersion(bytes, what);
  if (version !== ARTIFACT_VERSION) throw new Error(`${what}: format version ${version}, this infrec reads versions 1 (∞-AE) and ${ARTIFACT_VERSION}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headStart = ARTIFACT_MAGIC.length + 8;
  const jsonLen = view.getUint32(ARTIFACT_MAGIC.length + 4, true);
  if (headStart + jsonLen + 4 > bytes.length) throw new Error(`${what}: truncated (header runs past the end)`);
  let header: ContainerHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(headStart, headStart + jsonLen)));
  } catch {
    throw new Error(`${what}: corrupt header`);
  }
  if (!(ARTIFACT_KINDS as readonly string[]).includes(header.model)) throw new Error(`${what}: unknown model kind '${String(header.model)}' (known: ${ARTIFACT_KINDS.join(", ")})`);
  if (!Array.isArray(header.itemIds) || !Array.isArray(header.sections)) throw new Error(`${what}: corrupt header (item ids or section table)`);
  let total = headStart + jsonLen + pad8(headStart + jsonLen);
  for (const s of header.sections) {
    if (!Number.isInteger(s.length) || s.length < 0 || !(s.dtype in BYTES)) throw new Error(`${what}: corrupt header (section ${String(s.name)})`);
    const size = BYTES[s.dtype] * s.length;
    total += size + pad8(size);
  }
  if (bytes.length < total + 4) throw new Error(`${what}: truncated (${bytes.length} bytes, expected ${total + 4})`);
  if (bytes.length > total + 4) throw new Error(`${what}: ${bytes.length - total - 4} unexpected trailing bytes`);
  if (crc32(bytes.subarray(0, total)) !== view.getUint32(total, true)) throw new Error(`${what}: checksum mismatch (the file is corrupt)`);
  const sections = new Map<string, Int32Array | Float32Array>();
  let off = headStart + jsonLen + pad8(headStart + jsonLen);
  for (const s of header.sections) {
    const size = BYTES[s.dtype] * s.length;
    const at = bytes.byteOffset + off;
    // Views on the file's bytes where they are aligned (a 100 MB α is not copied), an aligned copy otherwise.
    const [buf, start] = at % 4 === 0 ? [bytes.buffer, at] : [bytes.slice(off, off + size).buffer, 0];
    off += size + pad8(size);
    if (s.dtype === "int32") sections.set(s.name, new Int32Array(buf, start, s.length));
    else if (s.dtype === "float32") sections.set(s.name, new Float32Array(buf, start, s.length));
    else {
      const h = new Uint16Array(buf, start, s.length);
      const wide = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) wide[i] = fromFloat16Bits(h[i]);
      sections.set(s.name, wide);
    }
  }
  return { header, sections };
}

/** A named section of the expected type and length, or an error naming the file. */
export function section<T extends Int32Array | Float32Array>(
  c: DecodedContainer, name: string, type: new (n: number) => T, length: number | null, what: string,
): T {
  const s = c.sections.get(name);
  if (s === undefined) throw new Error(`${what}: missing section '${name}'`);
  if (!(s instanceof type)) throw new Error(`${what}: section '${name}' has the wrong type`);
  if (length !== null && s.length !== length) throw new Error(`${what}: section '${name}' holds ${s.length} values, expected ${length}`);
  return s as T;
}

/** A CSR matrix from sections `<prefix>.indptr/indices/values`, with its item indices checked. */
export function csrSection(c: DecodedContainer, prefix: string, rows: number, items: number, what: string): InteractionMatrix {
  const indptr = section(c, `${prefix}.indptr`, Int32Array, rows + 1, what);
  const indices = section(c, `${prefix}.indices`, Int32Array, null, what);
  const values = section(c, `${prefix}.values`, Float32Array, indices.length, what);
  if (indptr[0] !== 0 || indptr[rows] !== indices.length) throw new Error(`${what}: corrupt ${prefix} rows (row pointers)`);
  for (let r = 0; r < rows; r++) if (indptr[r + 1] < indptr[r]) throw new Error(`${what}: corrupt ${prefix} rows (row pointers)`);
  for (let p = 0; p < indices.length; p++) {
    if (!(indices[p] >= 0 && indices[p] < items)) throw new Error(`${what}: corrupt ${prefix} rows (item index ${indices[p]})`);
  }
  return new InteractionMatrix(rows, items, indptr, indices, values);
}

/** The shared fields of a decoded container: item ids, users and their histories, dataset, hyper-parameters. */
export function commonFields(c: DecodedContainer, what: string): ArtifactCommon {
  const { header } = c;
  const itemIds = header.itemIds.map(String);
  const out: ArtifactCommon = { itemIds, dataset: header.dataset, hyperParameters: header.hyperParameters };
  if (header.userIds !== undefined) {
    if (!Array.isArray(header.userIds)) throw new Error(`${what}: corrupt header (user ids)`);
    const ids = header.userIds.map(String);
    out.users = { ids, seen: csrSection(c, "seen", ids.length, itemIds.length, what) };
  }
  return out;
}
