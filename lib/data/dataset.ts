import { Rng } from "../random.ts";
import type { DuplicatePolicy, InteractionMatrix } from "./matrix.ts";

/**
 * A dataset split into train / validation / test matrices that share one user
 * and one item index space. `userIds[u]` and `itemIds[i]` are the original ids
 * (as strings) of dense user u and item i.
 */
export interface Dataset {
  readonly name: string;
  readonly train: InteractionMatrix;
  readonly validation: InteractionMatrix;
  readonly test: InteractionMatrix;
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
  /** How repeated (user, item) rows were merged. */
  readonly duplicates: DuplicatePolicy;
}

export interface DatasetStats {
  name: string;
  users: number;
  items: number;
  /** Interaction rows (duplicates included) per split. */
  train: number;
  validation: number;
  test: number;
  interactions: number;
  /** Distinct user–item pairs over all splits divided by users × items. */
  density: number;
  duplicates: DuplicatePolicy;
}

export function datasetStats(ds: Dataset): DatasetStats {
  const train = Math.round(ds.train.total);
  const validation = Math.round(ds.validation.total);
  const test = Math.round(ds.test.total);
  const users = ds.train.numUsers;
  const items = ds.train.numItems;
  const pairs = ds.train.add(ds.validation).add(ds.test).nnz;
  return {
    name: ds.name,
    users,
    items,
    train,
    validation,
    test,
    interactions: train + validation + test,
    density: users * items > 0 ? pairs / (users * items) : 0,
    duplicates: ds.duplicates,
  };
}

/** Builds an item-id → dense index lookup. */
export function itemIndex(ds: Pick<Dataset, "itemIds">): Map<string, number> {
  const m = new Map<string, number>();
  ds.itemIds.forEach((id, i) => m.set(id, i));
  return m;
}

/** The users `users` (dense indices, increasing) as a dataset of their own rows in every split; items unchanged. */
export function usersDataset(ds: Dataset, users: Int32Array): Dataset {
  return {
    name: ds.name,
    train: ds.train.selectUsers(users),
    validation: ds.validation.selectUsers(users),
    test: ds.test.selectUsers(users),
    userIds: Array.from(users, (u) => ds.userIds[u]),
    itemIds: ds.itemIds,
    duplicates: ds.duplicates,
  };
}

/** `count` seeded random users of `numUsers`, increasing; every user when count is 0 or ≥ numUsers. */
export function sampleUsers(numUsers: number, count: number, seed: number): Int32Array {
  const all = Int32Array.from({ length: numUsers }, (_, u) => u);
  if (count <= 0 || count >= numUsers) return all;
  return new Rng(seed).shuffle(all).slice(0, count).sort();
}
