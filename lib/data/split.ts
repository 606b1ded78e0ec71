/**
 * Preprocessing of raw interactions into a Dataset (train / validation / test
 * matrices over one id space) with the paper's per-user random split, and a
 * portable file format for saved splits.
 */
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import type { Dataset } from "./dataset.ts";
import { type DuplicatePolicy, InteractionMatrix } from "./matrix.ts";
import { filterByRating, forEachLine, InteractionFileError, type RawInteractions } from "./text.ts";

export type SplitRatios = readonly [train: number, validation: number, test: number];

export const DEFAULT_RATIOS: SplitRatios = [0.8, 0.1, 0.1];

export interface BuildOptions {
  name: string;
  /** Users with fewer interaction rows (duplicates counted) are dropped. Default 3. */
  minInteractions?: number;
  /** Seed of the split's random permutations. Default 42. */
  seed?: number;
  /** Train / validation / test shares; must sum to 1. Default [0.8, 0.1, 0.1]. */
  ratios?: SplitRatios;
  /** How repeated (user, item) rows within one split are merged. Default "sum". */
  duplicates?: DuplicatePolicy;
  /** Keep only rows with rating ≥ this before anything else. */
  ratingThreshold?: number;
  /** Per row, 0 leaves it out before anything else (e.g. a k-core's mask); not with ratingThreshold. */
  keep?: Uint8Array;
}

// ---------------------------------------------------------------- random

/**
 * A small seeded PRNG (mulberry32; 32-bit state). Enough for shuffles; the
 * sequence for a given seed is part of the split's definition, so never change it.
 */
export class SplitRandom {
  private state: number;
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A uniform integer in [0, n), without modulo bias (rejection sampling). */
  below(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= 0x100000000)) throw new Error(`below: bad bound ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

// ---------------------------------------------------------------- split sizes

export function checkRatios(ratios: SplitRatios): void {
  if (ratios.length !== 3 || ratios.some((r) => !(r >= 0 && r <= 1))) {
    throw new Error(`ratios must be three shares in [0, 1], got ${JSON.stringify(ratios)}`);
  }
  const sum = ratios[0] + ratios[1] + ratios[2];
  if (Math.abs(sum - 1) > 1e-9) throw new Error(`ratios must sum to 1, got ${JSON.stringify(ratios)} (sum ${sum})`);
}

/**
 * Per-user split sizes [train, validation, test] for a user with n rows.
 *
 * This is the rule of the paper's official preprocessing (it reproduces the
 * per-user sizes of the authors' ML-1M and Magazine splits exactly):
 *   a = floor(r_train · n), b = floor((1 − r_test) · n);
 *   the shuffled positions [0, a) are train, [a, b) validation, [b, n) test,
 *   except that position 0 always goes to test.
 * So test = n − b + 1 (at least 1); train = a − 1 and validation = b − a when a ≥ 1.
 * Examples at 80/10/10: n=3 → 1/0/2, n=10 → 7/1/2, n=53 → 41/5/7.
 * Validation may be empty for small users (as in the paper's data).
 */
export function splitSizes(n: number, ratios: SplitRatios = DEFAULT_RATIOS): [number, number, number] {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`splitSizes: n must be a positive integer, got ${n}`);
  checkRatios(ratios);
  const a = Math.floor(ratios[0] * n);
  const b = Math.max(a, Math.floor((1 - ratios[2]) * n));
  const sizes: [number, number, number] = [a, b - a, n - b];
  // Position 0 moves to test from whichever part it would have been in.
  if (a > 0) sizes[0]--;
  else if (b > 0) sizes[1]--;
  else sizes[2]--;
  sizes[2]++;
  return sizes;
}

/** Split code of shuffled position p (0 train, 1 validation, 2 test); see splitSizes. */
function splitOfPosition(p: number, a: number, b: number): number {
  if (p === 0) return 2;
  return p < a ? 0 : p < b ? 1 : 2;
}

// ---------------------------------------------------------------- id order

const INTEGER_ID = /^-?\d+$/;

/**
 * The order of ids for dense numbering: numeric when every id is an integer
 * (ties such as "7" and "007" broken by string), otherwise by UTF-16 string
 * comparison. Returns the indices of `ids` in that order.
 */
export function idOrder(ids: readonly string[]): Int32Array {
  const order = Array.from({ length: ids.length }, (_, k) => k);
  const byString = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  if (ids.every((id) => INTEGER_ID.test(id))) {
    // Exact for any length: sign, then magnitude digits (leading zeros stripped) by length and text.
    const negative = ids.map((id) => id[0] === "-");
    const magnitude = ids.map((id) => id.replace(/^-?0*/, ""));
    order.sort((x, y) => {
      const nx = negative[x] && magnitude[x] !== "";
      const ny = negative[y] && magnitude[y] !== "";
      if (nx !== ny) return nx ? -1 : 1;
      const mx = magnitude[x];
      const my = magnitude[y];
      let c = mx.length - my.length || byString(mx, my);
      if (nx) c = -c;
      return c || byString(ids[x], ids[y]);
    });
  } else {
    order.sort((x, y) => byString(ids[x], ids[y]));
  }
  return Int32Array.from(order);
}

// ---------------------------------------------------------------- build

/**
 * Builds a Dataset from raw interactions:
 * 1. rows with rating < ratingThreshold, or marked 0 in `keep`, are dropped (when given);
 * 2. users with fewer than minInteractions rows are dropped;
 * 3. the remaining users and items get dense indices in increasing order of
 *    their original ids (see idOrder); items only dropped users had vanish;
 * 4. each user's rows, sorted by (dense item, file order), are shuffled with a
 *    PRNG seeded once by `seed` and consumed user by user in dense order, then
 *    cut per splitSizes. Every kept user thus has ≥ 1 test row, and the split
 *    depends only on the set of rows, not their order in the file;
 * 5. each row counts 1; a pair repeated within one split is summed or set to 1
 *    per `duplicates`. A pair repeated across splits stays in both (as the
 *    official loader does).
 */
export function buildDataset(raw: RawInteractions, options: BuildOptions): Dataset {
  const { name, minInteractions = 3, seed = 42, ratios = DEFAULT_RATIOS, duplicates = "sum" } = options;
  if (!(Number.isInteger(minInteractions) && minInteractions >= 1)) {
    throw new Error(`minInteractions must be an integer ≥ 1, got ${minInteractions}`);
  }
  checkDuplicates(duplicates);
  checkRatios(ratios);
  const rng = new SplitRandom(seed);
  if (options.keep && options.ratingThreshold !== undefined) throw new Error("buildDataset: give keep or ratingThreshold, not both (row indices would differ)");
  const data = options.ratingThreshold === undefined ? raw : filterByRating(raw, options.ratingThreshold);
  const rows = data.users.length;
  const byUser = groupRowsByUser(data, options.keep);
  const rawUsers = data.userIds.length;

  const split = new Uint8Array(rows).fill(DROPPED);
  let keptUsers = 0;
  for (let u = 0; u < rawUsers; u++) {
    if (byUser.start[u + 1] - byUser.start[u] < minInteractions) continue;
    keptUsers++;
    for (let p = byUser.start[u]; p < byUser.start[u + 1]; p++) split[byUser.rows[p]] = TRAIN;
  }
  if (keptUsers === 0) {
    throw new Error(`${data.source}: no user has at least ${minInteractions} interactions (${rawUsers} users, ${rows} rows)`);
  }
  const ids = denseIdSpace(data, split);

  const userRows: number[] = [];
  for (let du = 0; du < ids.userIds.length; du++) {
    const u = ids.rawUserOf[du];
    userRows.length = 0;
    for (let p = byUser.start[u]; p < byUser.start[u + 1]; p++) userRows.push(byUser.rows[p]);
    userRows.sort((x, y) => ids.denseItem[data.items[x]] - ids.denseItem[data.items[y]] || x - y);
    const n = userRows.length;
    // Fisher–Yates: userRows[p] is the row at shuffled position p.
    for (let k = n - 1; k > 0; k--) {
      const j = rng.below(k + 1);
      const t = userRows[k];
      userRows[k] = userRows[j];
      userRows[j] = t;
    }
    const a = Math.floor(ratios[0] * n);
    const b = Math.max(a, Math.floor((1 - ratios[2]) * n));
    for (let p = 0; p < n; p++) split[userRows[p]] = splitOfPosition(p, a, b);
  }
  return assembleDataset(data, ids, split, name, duplicates);
}

export function checkDuplicates(duplicates: DuplicatePolicy): void {
  if (duplicates !== "sum" && duplicates !== "binary") throw new Error(`duplicates must be "sum" or "binary", got ${String(duplicates)}`);
}

// ---------------------------------------------------------------- shared by the split rules

/** Split codes of rows, as assembleDataset takes them. */
export const TRAIN = 0;
export const VALIDATION = 1;
export const TEST = 2;
/** A row left out of the dataset. */
export const DROPPED = 255;

/** Rows grouped by raw user: user u's rows are rows[start[u] .. start[u+1]), in file order. */
export interface RowsByUser {
  readonly start: Int32Array;
  readonly rows: Int32Array;
}

/** Groups rows (those `keep` marks 1, when given) by raw user with a counting sort (file order kept within a user). */
export function groupRowsByUser(raw: RawInteractions, keep?: Uint8Array): RowsByUser {
  const rows = raw.users.length;
  if (keep && keep.length !== rows) throw new Error(`keep mask has ${keep.length} entries for ${rows} rows`);
  const rawUsers = raw.userIds.length;
  const start = new Int32Array(rawUsers + 1);
  for (let r = 0; r < rows; r++) if (!keep || keep[r]) start[raw.users[r] + 1]++;
  for (let u = 0; u < rawUsers; u++) start[u + 1] += start[u];
  const byUser = new Int32Array(start[rawUsers]);
  const fill = start.slice(0, rawUsers);
  for (let r = 0; r < rows; r++) if (!keep || keep[r]) byUser[fill[raw.users[r]]++] = r;
  return { start, rows: byUser };
}

/** Dense indices for the users and items that kept rows use, each numbered in id order (see idOrder). */
export interface DenseIdSpace {
  readonly userIds: string[];
  readonly itemIds: string[];
  /** The raw user index of each dense user. */
  readonly rawUserOf: Int32Array;
  /** The dense user of each raw user, -1 when no kept row has it. */
  readonly denseUser: Int32Array;
  /** The dense item of each raw item, -1 when no kept row has it. */
  readonly denseItem: Int32Array;
}

/** The id space of the rows whose split code is not DROPPED. */
export function denseIdSpace(raw: RawInteractions, split: Uint8Array): DenseIdSpace {
  const userUsed = new Uint8Array(raw.userIds.length);
  const itemUsed = new Uint8Array(raw.itemIds.length);
  for (let r = 0; r < split.length; r++) {
    if (split[r] === DROPPED) continue;
    userUsed[raw.users[r]] = 1;
    itemUsed[raw.items[r]] = 1;
  }
  const number = (used: Uint8Array, allIds: readonly string[]) => {
    const usedRaw: number[] = [];
    for (let k = 0; k < used.length; k++) if (used[k]) usedRaw.push(k);
    const usedIds = usedRaw.map((k) => allIds[k]);
    const order = idOrder(usedIds);
    const dense = new Int32Array(used.length).fill(-1);
    order.forEach((k, d) => {
      dense[usedRaw[k]] = d;
    });
    return { ids: Array.from(order, (k) => usedIds[k]), rawOf: Int32Array.from(order, (k) => usedRaw[k]), dense };
  };
  const users = number(userUsed, raw.userIds);
  const items = number(itemUsed, raw.itemIds);
  return { userIds: users.ids, itemIds: items.ids, rawUserOf: users.rawOf, denseUser: users.dense, denseItem: items.dense };
}

/**
 * The Dataset of rows coded TRAIN, VALIDATION or TEST (others are left out):
 * each row counts 1, and a pair repeated within one split is summed or set to
 * 1 per `duplicates`.
 */
export function assembleDataset(raw: RawInteractions, ids: DenseIdSpace, split: Uint8Array, name: string, duplicates: DuplicatePolicy): Dataset {
  const counts = [0, 0, 0];
  for (let r = 0; r < split.length; r++) if (split[r] !== DROPPED) counts[split[r]]++;
  const splitUsers = counts.map((c) => new Int32Array(c));
  const splitItems = counts.map((c) => new Int32Array(c));
  const filled = [0, 0, 0];
  for (let r = 0; r < split.length; r++) {
    const s = split[r];
    if (s === DROPPED) continue;
    const q = filled[s]++;
    splitUsers[s][q] = ids.denseUser[raw.users[r]];
    splitItems[s][q] = ids.denseItem[raw.items[r]];
  }
  const numUsers = ids.userIds.length;
  const numItems = ids.itemIds.length;
  const matrix = (s: number) => InteractionMatrix.fromTriplets(numUsers, numItems, splitUsers[s], splitItems[s], undefined, duplicates);
  return { name, train: matrix(TRAIN), validation: matrix(VALIDATION), test: matrix(TEST), userIds: ids.userIds, itemIds: ids.itemIds, duplicates };
}

// ---------------------------------------------------------------- save / load

const MAGIC = "infrec-split 1";
const COLUMNS = "split\tuser\titem\tvalue";
const SPLIT_NAMES = ["train", "validation", "test"] as const;

interface SplitHeader {
  name: string;
  duplicates: DuplicatePolicy;
  numUsers: number;
  numItems: number;
  entries: { train: number; validation: number; test: number };
  userIds: string[];
  itemIds: string[];
}

/**
 * Writes a dataset as text: line 1 `infrec-split 1`; line 2 a JSON header
 * (name, duplicates, numUsers, numItems, stored entries per split, userIds,
 * itemIds in dense order); line 3 `split user item value`; then one
 * tab-separated line per stored entry with dense indices, each split in CSR
 * order. Values are written in shortest round-trip form, so loading gives
 * back identical Float32 values. Written to a temp file, then renamed.
 */
export function saveSplit(ds: Dataset, path: string): void {
  const mats = [ds.train, ds.validation, ds.test];
  for (const m of mats) {
    if (m.numUsers !== ds.userIds.length || m.numItems !== ds.itemIds.length) {
      throw new Error(
        `saveSplit: matrix shape ${m.numUsers}×${m.numItems} does not match ${ds.userIds.length} user ids × ${ds.itemIds.length} item ids`,
      );
    }
  }
  const header: SplitHeader = {
    name: ds.name,
    duplicates: ds.duplicates,
    numUsers: ds.userIds.length,
    numItems: ds.itemIds.length,
    entries: { train: ds.train.nnz, validation: ds.validation.nnz, test: ds.test.nnz },
    userIds: [...ds.userIds],
    itemIds: [...ds.itemIds],
  };
  const tmp = `${path}.tmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, "w");
  try {
    let buffered: string[] = [`${MAGIC}\n${JSON.stringify(header)}\n${COLUMNS}\n`];
    let size = 0;
    const flush = () => {
      writeSync(fd, buffered.join(""));
      buffered = [];
      size = 0;
    };
    mats.forEach((m, s) => {
      const tag = SPLIT_NAMES[s];
      for (let u = 0; u < m.numUsers; u++) {
        for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) {
          const line = `${tag}\t${u}\t${m.indices[p]}\t${m.values[p]}\n`;
          buffered.push(line);
          size += line.length;
          if (size > 1 << 20) flush();
        }
      }
    });
    flush();
    closeSync(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw e;
  }
  renameSync(tmp, path);
}

function checkHeader(value: unknown, fail: (problem: string) => never): SplitHeader {
  if (typeof value !== "object" || value === null) fail("header is not a JSON object");
  const h = value as Record<string, unknown>;
  if (typeof h.name !== "string") fail("header: name must be a string");
  if (h.duplicates !== "sum" && h.duplicates !== "binary") fail(`header: duplicates must be "sum" or "binary"`);
  for (const key of ["numUsers", "numItems"] as const) {
    const v = h[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) fail(`header: ${key} must be a non-negative integer`);
  }
  for (const key of ["userIds", "itemIds"] as const) {
    const v = h[key];
    if (!Array.isArray(v) || !v.every((id) => typeof id === "string")) fail(`header: ${key} must be an array of strings`);
  }
  const e = h.entries as Record<string, unknown> | undefined;
  if (typeof e !== "object" || e === null || !SPLIT_NAMES.every((s) => Number.isInteger(e[s]) && (e[s] as number) >= 0)) {
    fail("header: entries must give train, validation and test counts");
  }
  const header = h as unknown as SplitHeader;
  if (header.userIds.length !== header.numUsers) fail(`header: ${header.userIds.length} userIds but numUsers ${header.numUsers}`);
  if (header.itemIds.length !== header.numItems) fail(`header: ${header.itemIds.length} itemIds but numItems ${header.numItems}`);
  return header;
}

/** Reads a file written by saveSplit; malformed files give errors naming file and line. */
export function loadSplit(path: string): Dataset {
  let header: SplitHeader | null = null;
  // Per split: CSR arrays filled in order (entries must come sorted by user, then item).
  let indices: Int32Array[] = [];
  let values: Float32Array[] = [];
  let indptr: Int32Array[] = [];
  const filled = [0, 0, 0];
  const lastUser = [0, 0, 0];
  const lastItem = [-1, -1, -1];
  let lines = 0;
  forEachLine(path, (line, lineNumber) => {
    lines = lineNumber;
    const fail = (problem: string): never => {
      throw new InteractionFileError(path, lineNumber, problem);
    };
    if (lineNumber === 1) {
      if (line !== MAGIC) fail(`not an infrec split file (expected first line "${MAGIC}")`);
      return;
    }
    if (lineNumber === 2) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (e) {
        fail(`bad JSON header: ${(e as Error).message}`);
      }
      const h = checkHeader(parsed, fail);
      header = h;
      const counts = [h.entries.train, h.entries.validation, h.entries.test];
      indices = counts.map((c) => new Int32Array(c));
      values = counts.map((c) => new Float32Array(c));
      indptr = counts.map(() => new Int32Array(h.numUsers + 1));
      return;
    }
    if (lineNumber === 3) {
      if (line !== COLUMNS) fail(`expected the column line "${COLUMNS.replaceAll("\t", "<tab>")}"`);
      return;
    }
    if (line === "") return;
    const h = header as SplitHeader | null;
    if (!h) return fail("missing header");
    const fields = line.split("\t");
    if (fields.length !== 4) fail(`expected 4 tab-separated fields (split, user, item, value), got ${fields.length}`);
    const s = (SPLIT_NAMES as readonly string[]).indexOf(fields[0]);
    if (s < 0) fail(`unknown split "${fields[0]}" (expected train, validation or test)`);
    const u = Number(fields[1]);
    const i = Number(fields[2]);
    const v = Number(fields[3]);
    if (!(Number.isInteger(u) && u >= 0 && u < h.numUsers) || fields[1] === "") fail(`user index "${fields[1]}" outside 0..${h.numUsers - 1}`);
    if (!(Number.isInteger(i) && i >= 0 && i < h.numItems) || fields[2] === "") fail(`item index "${fields[2]}" outside 0..${h.numItems - 1}`);
    if (!Number.isFinite(v) || fields[3].trim() === "") fail(`value "${fields[3]}" is not a finite number`);
    if (u < lastUser[s] || (u === lastUser[s] && i <= lastItem[s])) {
      fail(`${SPLIT_NAMES[s]} entries out of order or repeated at user ${u}, item ${i}`);
    }
    if (filled[s] >= indices[s].length) fail(`more ${SPLIT_NAMES[s]} entries than the header's ${indices[s].length}`);
    const ptr = indptr[s];
    for (let w = lastUser[s] + 1; w <= u; w++) ptr[w] = filled[s];
    lastUser[s] = u;
    lastItem[s] = i;
    indices[s][filled[s]] = i;
    values[s][filled[s]++] = v;
  });
  const h = header as SplitHeader | null;
  if (!h || lines < 3) throw new InteractionFileError(path, 0, `truncated: expected the "${MAGIC}" line, a JSON header and a column line`);
  const mats = SPLIT_NAMES.map((name, s) => {
    if (filled[s] !== indices[s].length) {
      throw new InteractionFileError(path, 0, `${filled[s]} ${name} entries, but the header says ${indices[s].length}`);
    }
    for (let w = lastUser[s] + 1; w <= h.numUsers; w++) indptr[s][w] = filled[s];
    return new InteractionMatrix(h.numUsers, h.numItems, indptr[s], indices[s], values[s]);
  });
  return {
    name: h.name,
    train: mats[0],
    validation: mats[1],
    test: mats[2],
    userIds: h.userIds,
    itemIds: h.itemIds,
    duplicates: h.duplicates,
  };
}
