/**
 * Splitting interactions by time into equal-sized periods, for continual
 * learning (the paper's Figure 5): a model sees periods 0..t and is tested on
 * period t + 1.
 */
import { type DuplicatePolicy, InteractionMatrix } from "./matrix.ts";
import type { RawInteractions } from "./text.ts";

/** One period: a contiguous stretch of the interactions in time order. */
export interface TimePeriod {
  /** 0-based position of the period in time. */
  readonly index: number;
  /** Row indices into the RawInteractions, in (timestamp, file row) order. */
  readonly rows: Int32Array;
  /** Earliest timestamp among the rows (seconds). */
  readonly firstTimestamp: number;
  /** Latest timestamp among the rows (seconds). */
  readonly lastTimestamp: number;
}

/**
 * Row indices in time order: by timestamp, equal timestamps by row index
 * (their order in the file). An error when the rows carry no timestamps or
 * one is not a number.
 */
export function rowsInTimeOrder(raw: RawInteractions): Int32Array {
  const ts = raw.timestamps;
  if (!ts) throw new Error(`${raw.source}: no timestamp column, so the interactions cannot be ordered by time`);
  for (let r = 0; r < ts.length; r++) {
    if (!Number.isFinite(ts[r])) throw new Error(`${raw.source}: row ${r + 1} has no valid timestamp (${ts[r]})`);
  }
  const order = new Int32Array(ts.length);
  for (let r = 0; r < order.length; r++) order[r] = r;
  // The explicit tie rule keeps the order independent of the sort's stability.
  order.sort((a, b) => ts[a] - ts[b] || a - b);
  return order;
}

/**
 * Cuts the interactions into `periods` periods of equal interaction counts:
 * rows in time order (see rowsInTimeOrder) and period p holds positions
 * [⌊p·R/N⌋, ⌊(p+1)·R/N⌋) of R rows, so sizes differ by at most one and the
 * larger ones come later. Rows sharing a timestamp may straddle a boundary;
 * then the earlier rows in the file go to the earlier period.
 */
export function splitByTime(raw: RawInteractions, periods: number): TimePeriod[] {
  const rows = raw.users.length;
  if (!(Number.isInteger(periods) && periods >= 1)) throw new Error(`periods must be an integer ≥ 1, got ${periods}`);
  if (periods > rows) throw new Error(`${raw.source}: ${periods} periods but only ${rows} interactions`);
  const order = rowsInTimeOrder(raw);
  const ts = raw.timestamps as Float64Array;
  const out: TimePeriod[] = [];
  for (let p = 0; p < periods; p++) {
    const start = Math.floor((p * rows) / periods);
    const end = Math.floor(((p + 1) * rows) / periods);
    const part = order.slice(start, end);
    out.push({ index: p, rows: part, firstTimestamp: ts[part[0]], lastTimestamp: ts[part[part.length - 1]] });
  }
  return out;
}

/**
 * The given rows as RawInteractions sharing the parent's `userIds` and
 * `itemIds` (so user and item indices agree across subsets; ids no chosen row
 * uses stay listed).
 */
export function selectRows(raw: RawInteractions, rows: ArrayLike<number>): RawInteractions {
  const n = rows.length;
  const users = new Int32Array(n);
  const items = new Int32Array(n);
  const ratings = raw.ratings ? new Float32Array(n) : null;
  const timestamps = raw.timestamps ? new Float64Array(n) : null;
  for (let k = 0; k < n; k++) {
    const r = rows[k];
    if (!(Number.isInteger(r) && r >= 0 && r < raw.users.length)) throw new Error(`selectRows: row ${r} outside 0..${raw.users.length - 1}`);
    users[k] = raw.users[r];
    items[k] = raw.items[r];
    if (ratings) ratings[k] = (raw.ratings as Float32Array)[r];
    if (timestamps) timestamps[k] = (raw.timestamps as Float64Array)[r];
  }
  return { source: raw.source, userIds: raw.userIds, itemIds: raw.itemIds, users, items, ratings, timestamps };
}

/**
 * A users × items matrix of the given rows (all rows when omitted) over the
 * parent's whole id space: user u is `raw.userIds[u]`, item i `raw.itemIds[i]`.
 * Each row counts 1; repeated pairs are summed or set to 1 per `duplicates`.
 */
export function rowsToMatrix(raw: RawInteractions, rows?: ArrayLike<number>, duplicates: DuplicatePolicy = "sum"): InteractionMatrix {
  const picked = rows ? selectRows(raw, rows) : raw;
  return InteractionMatrix.fromTriplets(raw.userIds.length, raw.itemIds.length, picked.users, picked.items, undefined, duplicates);
}
