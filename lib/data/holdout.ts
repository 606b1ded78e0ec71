/**
 * The hold-out rules besides the paper's per-user random split (split.ts):
 * leave-one-out per user, and a temporal split at global time cuts.
 */
import type { Dataset } from "./dataset.ts";
import type { DuplicatePolicy } from "./matrix.ts";
import { rowsInTimeOrder } from "./periods.ts";
import {
  assembleDataset,
  buildDataset,
  checkDuplicates,
  checkRatios,
  DEFAULT_RATIOS,
  denseIdSpace,
  DROPPED,
  groupRowsByUser,
  SplitRandom,
  type SplitRatios,
  TEST,
  TRAIN,
  VALIDATION,
} from "./split.ts";
import type { RawInteractions } from "./text.ts";

/** How rows are held out for validation and test. */
export const SPLIT_RULES = ["paper", "leave-one-out", "temporal"] as const;
export type SplitRule = (typeof SPLIT_RULES)[number];

export interface HoldoutOptions {
  name: string;
  /** Seed of the random orders (paper split; leave-one-out without timestamps). Default 42. */
  seed?: number;
  /** Train / validation / test shares of the paper and temporal splits. Default [0.8, 0.1, 0.1]. */
  ratios?: SplitRatios;
  /** How repeated (user, item) rows within one split are merged. Default "sum". */
  duplicates?: DuplicatePolicy;
  /** Per row, 0 leaves it out (e.g. kCore's mask). Default: every row. */
  keep?: Uint8Array;
}

/** Split codes with the rows `keep` leaves out already DROPPED, the others TRAIN. */
function initialCodes(rows: number, keep: Uint8Array | undefined): Uint8Array {
  if (keep && keep.length !== rows) throw new Error(`keep mask has ${keep.length} entries for ${rows} rows`);
  const split = new Uint8Array(rows).fill(TRAIN);
  if (keep) for (let r = 0; r < rows; r++) if (!keep[r]) split[r] = DROPPED;
  return split;
}

/**
 * Leave-one-out: each user's last interaction is its test row and, for users
 * with at least 3, the one before is its validation row; the rest is train
 * (so a user with 2 rows has 1 train and 1 test row, with 1 row only a test
 * row). "Last" is by timestamp, equal timestamps by file order. Without
 * timestamps each user's rows, taken by (item id, file order), are put in a
 * random order (one PRNG seeded by `seed`, users in id order), so the split
 * depends only on the set of rows.
 */
export function leaveOneOutSplit(raw: RawInteractions, options: HoldoutOptions): Dataset {
  const { name, seed = 42, duplicates = "sum" } = options;
  checkDuplicates(duplicates);
  const split = initialCodes(raw.users.length, options.keep);
  const ids = denseIdSpace(raw, split);
  const byUser = groupRowsByUser(raw, options.keep);
  const ts = raw.timestamps;
  // Position of each row in time order: a sort key that also breaks ties by file order.
  let rank: Int32Array | null = null;
  if (ts) {
    const order = rowsInTimeOrder(raw);
    rank = new Int32Array(order.length);
    order.forEach((r, k) => {
      (rank as Int32Array)[r] = k;
    });
  }
  const rng = new SplitRandom(seed);
  const userRows: number[] = [];
  for (let du = 0; du < ids.userIds.length; du++) {
    const u = ids.rawUserOf[du];
    userRows.length = 0;
    for (let p = byUser.start[u]; p < byUser.start[u + 1]; p++) userRows.push(byUser.rows[p]);
    const n = userRows.length;
    if (rank) {
      const byTime = rank;
      userRows.sort((x, y) => byTime[x] - byTime[y]);
    } else {
      userRows.sort((x, y) => ids.denseItem[raw.items[x]] - ids.denseItem[raw.items[y]] || x - y);
      for (let k = n - 1; k > 0; k--) {
        const j = rng.below(k + 1);
        const t = userRows[k];
        userRows[k] = userRows[j];
        userRows[j] = t;
      }
    }
    split[userRows[n - 1]] = TEST;
    if (n >= 3) split[userRows[n - 2]] = VALIDATION;
  }
  return assembleDataset(raw, ids, split, name, duplicates);
}

/**
 * Temporal split at global time cuts: all rows in time order (timestamp, then
 * file order), the first ⌊r_train·R⌋ of R rows train, the next up to
 * ⌊(1 − r_test)·R⌋ validation, the rest test (the cut rule of splitSizes). A user may thus have
 * test rows and no train rows. An error when the rows have no timestamps.
 */
export function temporalSplit(raw: RawInteractions, options: HoldoutOptions): Dataset {
  const { name, ratios = DEFAULT_RATIOS, duplicates = "sum" } = options;
  checkDuplicates(duplicates);
  if (!raw.timestamps) {
    throw new Error(`${raw.source}: a temporal split needs timestamps, and these interactions have no timestamp column`);
  }
  checkRatios(ratios);
  const split = initialCodes(raw.users.length, options.keep);
  const order = rowsInTimeOrder(raw).filter((r) => split[r] !== DROPPED);
  const rows = order.length;
  const trainEnd = Math.floor(ratios[0] * rows);
  const validationEnd = Math.max(trainEnd, Math.floor((1 - ratios[2]) * rows));
  for (let k = 0; k < rows; k++) split[order[k]] = k < trainEnd ? TRAIN : k < validationEnd ? VALIDATION : TEST;
  return assembleDataset(raw, denseIdSpace(raw, split), split, name, duplicates);
}

/** The Dataset of the (kept) rows under a split rule; the paper rule keeps every user (filter them first, e.g. with kCore). */
export function splitByRule(raw: RawInteractions, rule: SplitRule, options: HoldoutOptions): Dataset {
  switch (rule) {
    case "paper":
      return buildDataset(raw, {
        name: options.name,
        seed: options.seed,
        ratios: options.ratios,
        duplicates: options.duplicates,
        keep: options.keep,
        minInteractions: 1,
      });
    case "leave-one-out":
      return leaveOneOutSplit(raw, options);
    case "temporal":
      return temporalSplit(raw, options);
    default:
      throw new Error(`unknown split rule ${JSON.stringify(rule)} (known: ${SPLIT_RULES.join(", ")})`);
  }
}
