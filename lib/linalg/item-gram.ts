/**
 * XᵀX (items × items) of a sparse matrix by outer products of its rows: the
 * lower triangle summed (a row's items are sorted, so b ≤ a is j ≤ i), then
 * mirrored. Half the updates of summing every pair, the same float32 sums.
 *
 * The sum runs by ranges of G's rows, so that each range's updates land in
 * a small block of G; large Grams send the ranges to workers
 * (item-gram-worker.ts) that read the rows from shared memory and send back
 * their rows of G: each entry still adds the same products in the same user
 * order, so the result is bit for bit the single-threaded one. The
 * Netflix-shaped set's 17,770² Gram (79.7 M ratings) took 6.0 min on one core
 * over all of G, 49 s by ranges on two workers. Without SharedArrayBuffer (a
 * browser page that is not cross-origin isolated) or where workers cannot
 * start, it runs here.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { mirrorLowerTriangle } from "../ntk/gram.ts";
import { logicalCores, WorkerGroup, type WorkerReply } from "../util/worker.ts";

/** A range of G's rows to sum, with the matrix's CSR arrays (in shared memory when sent to a worker). */
export interface ItemGramJob {
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  numUsers: number;
  /** G's rows [rowStart, rowEnd); the result holds their columns [0, rowEnd). */
  rowStart: number;
  rowEnd: number;
}

/** Lower-triangle updates (Σ over rows of nnz(nnz+1)/2) above which workers share the Gram: ≈ 3 s on one core. */
export const PARALLEL_MIN_UPDATES = 1e9;

/**
 * Values of the lower triangle per range of rows (4 MiB): the updates of a
 * range land in a block this size, not all over G. On the Netflix-shaped
 * bench (30,000 users × 17,770 items, one thread) 11 ranges of up to 64 MiB
 * took 20.0 s, 126 of about 4 MiB 6.9 s, 480 smaller ones 8.8 s (each range
 * scans every row's start).
 */
const RANGE_VALUES = 1 << 20;

/** A range never holds more than this many values (when one row's work is most of a range). */
const MAX_RANGE_VALUES = 1 << 22;

/** Ranges per worker at least: later ranges balance a worker slowed by the rest of the machine. */
const RANGES_PER_WORKER = 8;

/**
 * Adds G's rows [rowStart, rowEnd), restricted to columns j ≤ i, into `out`:
 * row i at (i − rowStart)·stride (default: a (rowEnd − rowStart) × rowEnd
 * block; G itself from row rowStart with stride m). Returns out.
 */
export function itemGramRows(job: ItemGramJob, out?: Float32Array, stride = job.rowEnd): Float32Array {
  const { indptr, indices, values, numUsers, rowStart, rowEnd } = job;
  if (!(Number.isInteger(stride) && stride >= rowEnd)) throw new Error(`itemGramRows: stride must be an integer ≥ rowEnd (${rowEnd}), got ${stride}`);
  const need = rowEnd > rowStart ? (rowEnd - rowStart - 1) * stride + rowEnd : 0;
  out ??= new Float32Array(need);
  if (out.length < need) throw new Error(`itemGramRows: out has ${out.length} values, expected at least ${need}`);
  const width = stride;
  for (let u = 0; u < numUsers; u++) {
    const p0 = indptr[u];
    const p1 = indptr[u + 1];
    // The row's first item ≥ rowStart (its items are sorted).
    let lo = p0;
    let hi = p1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (indices[mid] < rowStart) lo = mid + 1;
      else hi = mid;
    }
    for (let a = lo; a < p1; a++) {
      const i = indices[a];
      if (i >= rowEnd) break;
      const row = (i - rowStart) * width;
      const va = values[a];
      for (let b = p0; b <= a; b++) out[row + indices[b]] += va * values[b];
    }
  }
  return out;
}

/** Lower-triangle updates of XᵀX by outer products: Σ over rows of nnz(nnz + 1)/2. */
export function itemGramUpdates(x: InteractionMatrix): number {
  let updates = 0;
  for (let u = 0; u < x.numUsers; u++) {
    const n = x.rowNnz(u);
    updates += (n * (n + 1)) / 2;
  }
  return updates;
}

/**
 * Contiguous ranges of G's rows with about equal work each (row i's work is
 * Σ over the rows holding item i of i's position in the row, plus one), none
 * holding more than MAX_RANGE_VALUES values of the lower triangle's block.
 * `count` defaults to one per RANGE_VALUES values of the lower triangle.
 */
export function itemGramRanges(x: InteractionMatrix, count = defaultRangeCount(x.numItems)): [number, number][] {
  const m = x.numItems;
  const work = new Float64Array(m);
  for (let u = 0; u < x.numUsers; u++) {
    const p0 = x.indptr[u];
    for (let p = p0; p < x.indptr[u + 1]; p++) work[x.indices[p]] += p - p0 + 1;
  }
  let total = 0;
  for (let i = 0; i < m; i++) total += work[i];
  const target = total / Math.max(1, count);
  const ranges: [number, number][] = [];
  let start = 0;
  let acc = 0;
  for (let i = 0; i < m; i++) {
    // A range ends before row i when it would hold too many values, or after i once it has its share.
    if (i > start && (i + 1 - start) * (i + 1) > MAX_RANGE_VALUES) {
      ranges.push([start, i]);
      start = i;
      acc = 0;
    }
    acc += work[i];
    if (acc >= target && i + 1 < m) {
      ranges.push([start, i + 1]);
      start = i + 1;
      acc = 0;
    }
  }
  if (start < m) ranges.push([start, m]);
  return ranges;
}

/** Ranges for an m × m Gram: one per RANGE_VALUES values of its lower triangle, at least `atLeast`. */
function defaultRangeCount(m: number, atLeast = 1): number {
  return Math.max(atLeast, Math.ceil((m * (m + 1)) / 2 / RANGE_VALUES));
}

export interface ItemGramOptions {
  /** Workers to share the sum (default: the logical cores, when the Gram has ≥ PARALLEL_MIN_UPDATES updates; 0: here). */
  workers?: number;
  /** Called with the fraction of the lower triangle's work done. */
  onProgress?: (fraction: number) => void;
}

/** The worker module: the sibling .ts from the sources, .js from the build. */
const workerUrl = (): URL => new URL(import.meta.url.endsWith(".ts") ? "./item-gram-worker.ts" : "./item-gram-worker.js", import.meta.url);

type RangeReply = WorkerReply & { rows: Float32Array };

/** One group for the process, started on first use; idle workers do not keep it alive. */
let group: WorkerGroup<ItemGramJob, RangeReply> | null = null;

/** Why the last Gram ran in the calling thread although workers were asked for (null when they ran). */
export let itemGramFallbackReason: string | null = null;

/** XᵀX of a sparse matrix by outer products of its rows (float32, exactly symmetric). */
export async function sparseItemGram(x: InteractionMatrix, options: ItemGramOptions = {}): Promise<Float32Array> {
  const m = x.numItems;
  const g = new Float32Array(m * m);
  const asked = options.workers;
  if (asked !== undefined && !(Number.isInteger(asked) && asked >= 0)) throw new Error(`sparseItemGram: workers must be an integer ≥ 0, got ${asked}`);
  const workers = asked ?? (itemGramUpdates(x) >= PARALLEL_MIN_UPDATES ? await logicalCores() : 0);
  itemGramFallbackReason = null;
  if (workers > 0 && m > 1) {
    if (typeof SharedArrayBuffer === "undefined") itemGramFallbackReason = "SharedArrayBuffer is not available";
    else if (await sumOnWorkers(x, g, workers, options.onProgress)) return g;
  }
  // Here: straight into G's rows, a range at a time.
  for (const [rowStart, rowEnd] of itemGramRanges(x)) {
    itemGramRows({ indptr: x.indptr, indices: x.indices, values: x.values, numUsers: x.numUsers, rowStart, rowEnd }, g.subarray(rowStart * m), m);
    options.onProgress?.(rowEnd / m);
  }
  mirrorLowerTriangle(g, m);
  return g;
}

/** A copy of a typed array in shared memory (the workers read it without a copy each). */
function shared<T extends Int32Array | Float32Array>(a: T): T {
  const Ctor = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/** Sums G on the workers into `g` and mirrors it; false (g untouched) when they cannot run. */
async function sumOnWorkers(x: InteractionMatrix, g: Float32Array, size: number, onProgress?: (fraction: number) => void): Promise<boolean> {
  if (!group || group.size !== size) {
    await group?.close();
    group = new WorkerGroup<ItemGramJob, RangeReply>(workerUrl, "item-gram worker", size);
  }
  const handles = await group.ensure();
  if (handles.length === 0) {
    itemGramFallbackReason = group.fallbackReason ?? "no workers";
    return false;
  }
  const m = x.numItems;
  const ranges = itemGramRanges(x, defaultRangeCount(m, handles.length * RANGES_PER_WORKER));
  const base = { indptr: shared(x.indptr), indices: shared(x.indices), values: shared(x.values), numUsers: x.numUsers };
  let next = 0;
  let done = 0;
  const drain = async (w: (typeof handles)[number]): Promise<void> => {
    while (next < ranges.length) {
      const [rowStart, rowEnd] = ranges[next++];
      const { rows } = await w.post({ ...base, rowStart, rowEnd });
      // Row i of the block holds columns [0, rowEnd); G needs [0, i] of it.
      for (let i = rowStart; i < rowEnd; i++) {
        const from = (i - rowStart) * rowEnd;
        g.set(rows.subarray(from, from + i + 1), i * m);
      }
      done += rowEnd - rowStart;
      onProgress?.(done / m);
    }
  };
  try {
    await Promise.all(handles.map(drain));
  } catch (e) {
    // A worker that cannot load or fails is not fatal: the caller sums here.
    await group.fail(e);
    itemGramFallbackReason = group.fallbackReason;
    g.fill(0);
    return false;
  }
  mirrorLowerTriangle(g, m);
  return true;
}
