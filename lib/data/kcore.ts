/**
 * k-core filtering: drop users with fewer than a minimum number of
 * interactions and items with fewer than theirs, repeatedly, until every
 * remaining user and item meets its minimum (dropping an item can push a user
 * below, and the other way round).
 */
import type { RawInteractions } from "./text.ts";

export interface KCoreOptions {
  /** Users with fewer interaction rows (repeats counted) are dropped. Default 1 (none). */
  minUserInteractions?: number;
  /** Items with fewer interaction rows (repeats counted) are dropped. Default 1 (none). */
  minItemInteractions?: number;
}

/** What the filter dropped and what is left. */
export interface KCoreReport {
  readonly minUserInteractions: number;
  readonly minItemInteractions: number;
  /** Rounds that dropped something (each drops every user and item below its minimum at once). */
  readonly rounds: number;
  readonly droppedUsers: number;
  readonly droppedItems: number;
  readonly droppedRows: number;
  readonly users: number;
  readonly items: number;
  readonly rows: number;
}

function checkMinimum(name: string, v: number): number {
  if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${name} must be an integer ≥ 1, got ${v}`);
  return v;
}

export interface KCoreResult {
  /** Per row of the input: 1 when it is in the k-core (a mask, so large logs are not copied). */
  readonly keep: Uint8Array;
  readonly report: KCoreReport;
}

/**
 * The k-core of the interactions: the largest subset of rows in which every
 * user has at least `minUserInteractions` rows and every item at least
 * `minItemInteractions` (unique, so the order of dropping does not matter).
 * An error when nothing is left. `keptRows` turns the mask into row indices,
 * e.g. for selectRows.
 */
export function kCore(raw: RawInteractions, options: KCoreOptions = {}): KCoreResult {
  const minUser = checkMinimum("minUserInteractions", options.minUserInteractions ?? 1);
  const minItem = checkMinimum("minItemInteractions", options.minItemInteractions ?? 1);
  const rows = raw.users.length;
  const userCount = new Int32Array(raw.userIds.length);
  const itemCount = new Int32Array(raw.itemIds.length);
  for (let r = 0; r < rows; r++) {
    userCount[raw.users[r]]++;
    itemCount[raw.items[r]]++;
  }
  const present = (counts: Int32Array) => counts.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
  const usersBefore = present(userCount);
  const itemsBefore = present(itemCount);

  const kept = new Uint8Array(rows).fill(1);
  let left = rows;
  let rounds = 0;
  const userGone = new Uint8Array(userCount.length);
  const itemGone = new Uint8Array(itemCount.length);
  for (;;) {
    // Decide from this round's counts first, so users and items are judged together.
    let any = false;
    for (let u = 0; u < userCount.length; u++) {
      userGone[u] = userCount[u] > 0 && userCount[u] < minUser ? 1 : 0;
      any ||= userGone[u] === 1;
    }
    for (let i = 0; i < itemCount.length; i++) {
      itemGone[i] = itemCount[i] > 0 && itemCount[i] < minItem ? 1 : 0;
      any ||= itemGone[i] === 1;
    }
    if (!any) break;
    rounds++;
    for (let r = 0; r < rows; r++) {
      if (!kept[r] || !(userGone[raw.users[r]] || itemGone[raw.items[r]])) continue;
      kept[r] = 0;
      left--;
      userCount[raw.users[r]]--;
      itemCount[raw.items[r]]--;
    }
  }
  if (left === 0) {
    throw new Error(
      `${raw.source}: the k-core with users ≥ ${minUser} and items ≥ ${minItem} interactions is empty ` +
        `(all ${count(rows, "row")} of ${count(usersBefore, "user")} and ${count(itemsBefore, "item")} dropped in ${count(rounds, "round")})`,
    );
  }
  const users = present(userCount);
  const items = present(itemCount);
  const report: KCoreReport = {
    minUserInteractions: minUser,
    minItemInteractions: minItem,
    rounds,
    droppedUsers: usersBefore - users,
    droppedItems: itemsBefore - items,
    droppedRows: rows - left,
    users,
    items,
    rows: left,
  };
  return { keep: kept, report };
}

/** The indices of the rows a mask keeps, in order. */
export function keptRows(keep: Uint8Array): Int32Array {
  let n = 0;
  for (let r = 0; r < keep.length; r++) n += keep[r] ? 1 : 0;
  const rows = new Int32Array(n);
  for (let r = 0, q = 0; r < keep.length; r++) if (keep[r]) rows[q++] = r;
  return rows;
}

/** "1 row", "1,234 rows". */
const count = (n: number, noun: string) => `${n.toLocaleString("en-US")} ${noun}${n === 1 ? "" : "s"}`;

/** The report as one line, e.g. for stderr. */
export function describeKCore(r: KCoreReport): string {
  return (
    `k-core (users ≥ ${r.minUserInteractions}, items ≥ ${r.minItemInteractions} interactions): ` +
    `dropped ${count(r.droppedUsers, "user")}, ${count(r.droppedItems, "item")}, ${count(r.droppedRows, "row")} in ${count(r.rounds, "round")}; ` +
    `${count(r.users, "user")}, ${count(r.items, "item")}, ${count(r.rows, "row")} left`
  );
}
