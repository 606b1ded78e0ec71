/**
 * A small dataset with planted structure: users and items fall in `groups`
 * clusters; a user interacts mostly with items of its own cluster. Held-out
 * items of the same cluster are what a good model ranks high.
 */
import type { Dataset } from "../../lib/data/dataset.ts";
import { InteractionMatrix } from "../../lib/data/matrix.ts";
import { Rng } from "../../lib/random.ts";

export function plantedDataset(numUsers = 200, numItems = 60, groups = 4, perUser = 12, seed = 1): Dataset {
  const rng = new Rng(seed);
  const parts: [number[], number[]][] = [[[], []], [[], []], [[], []]];
  const per = numItems / groups;
  for (let u = 0; u < numUsers; u++) {
    const grp = u % groups;
    const chosen = new Set<number>();
    while (chosen.size < perUser) {
      // 90% in-cluster, 10% anywhere.
      const i = rng.next() < 0.9 ? grp * per + rng.int(per) : rng.int(numItems);
      chosen.add(Math.floor(i));
    }
    const list = rng.shuffle([...chosen]);
    list.forEach((i, k) => {
      const s = k < perUser - 4 ? 0 : k < perUser - 2 ? 1 : 2;
      parts[s][0].push(u);
      parts[s][1].push(i);
    });
  }
  const [train, validation, test] = parts.map(([us, is]) => InteractionMatrix.fromTriplets(numUsers, numItems, us, is));
  return {
    name: "planted", train, validation, test,
    userIds: Array.from({ length: numUsers }, (_, u) => String(u)),
    itemIds: Array.from({ length: numItems }, (_, i) => String(i)),
    duplicates: "sum",
  };
}
