/**
 * The saved form of a fitted PopRec: its item counts in the shared artifact
 * container (lib/models/artifact-format.ts).
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import { type ArtifactCommon, commonFields, type DecodedContainer, encodeContainer, section } from "./artifact-format.ts";
import type { PopRec } from "./pop.ts";

export interface PopArtifact extends ArtifactCommon {
  model: "pop";
  /** Training interactions per item. */
  popularity: Float32Array;
}

export function popArtifact(model: PopRec, meta: ArtifactCommon): PopArtifact {
  const popularity = model.itemPopularity();
  if (popularity.length !== meta.itemIds.length) throw new Error(`popArtifact: ${meta.itemIds.length} item ids for ${popularity.length} items`);
  return { model: "pop", popularity, ...meta, hyperParameters: model.hyperParameters() };
}

export function encodePop(a: PopArtifact): Uint8Array {
  if (a.popularity.length !== a.itemIds.length) throw new Error(`encodePop: ${a.popularity.length} counts for ${a.itemIds.length} items`);
  return encodeContainer(
    { model: "pop", itemIds: a.itemIds, dataset: a.dataset, hyperParameters: a.hyperParameters ?? {} },
    [{ name: "popularity", dtype: "float32", data: a.popularity }],
    a.users,
  );
}

export function popFromContainer(c: DecodedContainer, what: string): PopArtifact {
  if (c.header.model !== "pop") throw new Error(`${what}: a saved ${c.header.model} model, not PopRec`);
  const common = commonFields(c, what);
  return { model: "pop", ...common, popularity: section(c, "popularity", Float32Array, common.itemIds.length, what) };
}

/** Scores from a saved PopRec: every user gets the item counts. */
export class SavedPopRec {
  readonly name = "pop";
  constructor(readonly artifact: PopArtifact) {}

  scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const pop = this.artifact.popularity;
    if (context.numItems !== pop.length) return Promise.reject(new Error(`SavedPopRec.scoreBlock: context has ${context.numItems} items, the artifact ${pop.length}`));
    for (let r = 0; r < end - start; r++) out.set(pop, r * pop.length);
    return Promise.resolve();
  }
}
