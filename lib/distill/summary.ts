/**
 * DISTILL-CF summaries on disk: μ synthetic users × I items, values in [0, 1].
 *
 * Format (version 1), little-endian:
 *   bytes 0..15   magic "INFREC-SUMMARY\n\0"
 *   bytes 16..19  uint32 header length H
 *   next H bytes  UTF-8 JSON header (SummaryHeader)
 *   then          μ·I float32 values, row-major (synthetic user r, item i)
 * The header's `checksum` is the CRC-32 of the value bytes; `formatVersion`
 * guards future changes. Files are written to a temporary name and renamed,
 * so a reader never sees half a file from us; a truncated or altered file
 * fails with an error naming what is wrong.
 */
import { readFileSync } from "node:fs";
import { crc32 } from "../util/checksum.ts";
import { writeFileAtomic } from "../util/files.ts";

export { crc32, writeFileAtomic };
import { InteractionMatrix } from "../data/matrix.ts";

/** 2: the header carries its own CRC (headerChecksum); 1 (still read) covered only the values. */
export const SUMMARY_FORMAT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];
const MAGIC = "INFREC-SUMMARY\n\0";
const MAGIC_BYTES = new TextEncoder().encode(MAGIC);
const PREFIX = MAGIC_BYTES.length + 4;

export interface SummaryHeader {
  formatVersion: number;
  dataset: string;
  /** Synthetic users μ. */
  mu: number;
  items: number;
  /** Original item id of each column. */
  itemIds: string[];
  /** λ picked on validation for the ∞-AE fitted on this summary. */
  lambda: number;
  tau: number;
  gamma: number;
  seed: number;
  /** Outer step whose X̂ this is, and its validation score (null when never validated). */
  step: number;
  score: number | null;
  /** CRC-32 of the value bytes. */
  checksum: number;
  /** CRC-32 of this header's JSON without this field: in format-2 files only (checked and dropped on reading). */
  headerChecksum?: number;
}

/** CRC-32 of a header's JSON without its headerChecksum (JSON.stringify keeps the parsed key order). */
function headerCrc(header: SummaryHeader): number {
  const { headerChecksum: _omit, ...rest } = header;
  return crc32(new TextEncoder().encode(JSON.stringify(rest)));
}

/** Throws naming the first repeated item id. */
function checkUniqueIds(ids: readonly string[], where: string): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`${where}: item id '${id}' appears more than once`);
    seen.add(id);
  }
}

export interface Summary {
  header: SummaryHeader;
  /** μ × I row-major values in [0, 1]. */
  values: Float32Array;
}

function valueBytes(values: Float32Array): Uint8Array {
  // Float32Array is little-endian on every platform infrec runs on (x86, ARM).
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Checks shapes and values; returns the header with the checksum filled in. */
export function makeSummary(header: Omit<SummaryHeader, "formatVersion" | "checksum">, values: ArrayLike<number>): Summary {
  const { mu, items } = header;
  if (!Number.isInteger(mu) || mu < 1 || !Number.isInteger(items) || items < 1) throw new Error(`summary: bad shape ${mu}×${items}`);
  if (values.length !== mu * items) throw new Error(`summary: ${values.length} values, expected ${mu}×${items}`);
  if (header.itemIds.length !== items) throw new Error(`summary: ${header.itemIds.length} item ids for ${items} items`);
  checkUniqueIds(header.itemIds, "summary");
  const v = Float32Array.from(values);
  for (let p = 0; p < v.length; p++) {
    if (!(v[p] >= 0 && v[p] <= 1)) throw new Error(`summary: value ${v[p]} at row ${Math.floor(p / items)}, item ${p % items} is outside [0, 1]`);
  }
  return { header: { ...header, formatVersion: SUMMARY_FORMAT_VERSION, checksum: crc32(valueBytes(v)) }, values: v };
}

export function encodeSummary(summary: Summary): Uint8Array {
  const { headerChecksum: _old, ...fields } = summary.header;
  const sealed: SummaryHeader = { ...fields, headerChecksum: 0 };
  sealed.headerChecksum = headerCrc(sealed);
  const header = new TextEncoder().encode(JSON.stringify(sealed));
  const data = valueBytes(summary.values);
  const out = new Uint8Array(PREFIX + header.length + data.length);
  out.set(MAGIC_BYTES, 0);
  new DataView(out.buffer).setUint32(MAGIC_BYTES.length, header.length, true);
  out.set(header, PREFIX);
  out.set(data, PREFIX + header.length);
  return out;
}

/** True when the bytes start with the summary magic. */
export function isSummaryBytes(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC_BYTES.length) return false;
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (bytes[i] !== MAGIC_BYTES[i]) return false;
  return true;
}

export function decodeSummary(bytes: Uint8Array, source = "summary"): Summary {
  if (!isSummaryBytes(bytes)) throw new Error(`${source}: not an infrec summary (bad magic)`);
  if (bytes.length < PREFIX) throw new Error(`${source}: truncated (no header length)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC_BYTES.length, true);
  if (bytes.length < PREFIX + headerLength) throw new Error(`${source}: truncated header (${bytes.length - PREFIX} of ${headerLength} bytes)`);
  let header: SummaryHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerLength))) as SummaryHeader;
  } catch (e) {
    throw new Error(`${source}: corrupt header (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== "object" || header === null) throw new Error(`${source}: corrupt header (not an object)`);
  if (!READABLE_VERSIONS.includes(header.formatVersion)) {
    throw new Error(`${source}: format version ${String(header.formatVersion)} is not supported (this build reads ${READABLE_VERSIONS.join(" and ")})`);
  }
  if (header.formatVersion >= 2) {
    const sum = headerCrc(header);
    if (sum !== header.headerChecksum) throw new Error(`${source}: header checksum mismatch (file says ${String(header.headerChecksum)}, header gives ${sum}): the file is corrupt`);
    // A property of the file, not of the summary: encodeSummary computes it afresh.
    delete header.headerChecksum;
  }
  const { mu, items } = header;
  if (!Number.isInteger(mu) || mu < 1 || !Number.isInteger(items) || items < 1) throw new Error(`${source}: corrupt header (shape ${mu}×${items})`);
  if (!Array.isArray(header.itemIds) || header.itemIds.length !== items) throw new Error(`${source}: corrupt header (item ids do not match ${items} items)`);
  checkUniqueIds(header.itemIds, source);
  const expected = 4 * mu * items;
  const have = bytes.length - PREFIX - headerLength;
  if (have < expected) throw new Error(`${source}: truncated (${have} of ${expected} value bytes)`);
  if (have > expected) throw new Error(`${source}: ${have - expected} unexpected trailing bytes`);
  // Copy so the values are aligned and independent of the file buffer.
  const data = new Uint8Array(expected);
  data.set(bytes.subarray(PREFIX + headerLength));
  const sum = crc32(data);
  if (sum !== header.checksum) throw new Error(`${source}: checksum mismatch (file says ${header.checksum}, data gives ${sum}): the file is corrupt`);
  const values = new Float32Array(data.buffer, data.byteOffset, mu * items);
  for (let p = 0; p < values.length; p++) {
    if (!(values[p] >= 0 && values[p] <= 1)) throw new Error(`${source}: value ${values[p]} outside [0, 1] at entry ${p}`);
  }
  return { header, values };
}


export function saveSummary(path: string, summary: Summary): void {
  writeFileAtomic(path, encodeSummary(summary));
}

export function loadSummary(path: string): Summary {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read summary ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return decodeSummary(bytes, path);
}

/** Dense row-major rows (rows × items) as an InteractionMatrix holding their non-zero entries as weights. */
export function denseRowsToMatrix(values: ArrayLike<number>, rows: number, items: number): InteractionMatrix {
  if (values.length !== rows * items) throw new Error(`denseRowsToMatrix: ${values.length} values, expected ${rows}×${items}`);
  const users: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < items; i++) {
      const v = values[r * items + i];
      if (v !== 0) {
        users.push(r);
        cols.push(i);
        vals.push(v);
      }
    }
  }
  return InteractionMatrix.fromTriplets(rows, items, users, cols, vals);
}

/** Weighted rows as an InteractionMatrix (zeros skipped): any model can fit on it. */
export function summaryToMatrix(summary: Summary): InteractionMatrix {
  return denseRowsToMatrix(summary.values, summary.header.mu, summary.header.items);
}

/** Sparse CSV: header `fake_user,item,weight`, item = original item id, zeros skipped. */
export function summaryToCsv(summary: Summary): string {
  const { mu, items, itemIds } = summary.header;
  const lines = ["fake_user,item,weight"];
  const quote = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  for (let r = 0; r < mu; r++) {
    for (let i = 0; i < items; i++) {
      const v = summary.values[r * items + i];
      if (v !== 0) lines.push(`${r},${quote(itemIds[i])},${v}`);
    }
  }
  return lines.join("\n") + "\n";
}

export function saveSummaryCsv(path: string, summary: Summary): void {
  writeFileAtomic(path, summaryToCsv(summary));
}

/**
 * For `infrec train-on`: the summary at `path` as a matrix and its item ids,
 * or null when the file is not a summary (no magic). A summary that is
 * corrupt or truncated throws.
 */
export async function readSummaryMatrix(path: string): Promise<{ matrix: InteractionMatrix; itemIds: readonly string[] } | null> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  if (!isSummaryBytes(bytes)) return null;
  const summary = decodeSummary(bytes, path);
  return { matrix: summaryToMatrix(summary), itemIds: summary.header.itemIds };
}
