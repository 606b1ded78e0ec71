import type { InteractionMatrix } from "../data/matrix.ts";
import type { FitOptions, HyperParameters, Recommender } from "./model.ts";

/** PopRec: every user gets items ranked by their number of training interactions. */
export class PopRec implements Recommender {
  readonly name = "pop";
  private popularity: Float32Array | null = null;

  fit(train: InteractionMatrix, _options?: FitOptions): Promise<void> {
    if (train.nnz === 0) return Promise.reject(new Error("PopRec.fit: the training matrix has no interactions"));
    this.popularity = Float32Array.from(train.itemCounts());
    return Promise.resolve();
  }

  scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const pop = this.popularity;
    if (!pop) return Promise.reject(new Error("PopRec.scoreBlock: call fit first"));
    if (context.numItems !== pop.length) {
      return Promise.reject(new Error(`PopRec.scoreBlock: context has ${context.numItems} items, model ${pop.length}`));
    }
    for (let r = 0; r < end - start; r++) out.set(pop, r * pop.length);
    return Promise.resolve();
  }

  /** Training interactions per item (what a saved PopRec stores). */
  itemPopularity(): Float32Array {
    if (!this.popularity) throw new Error("PopRec.itemPopularity: call fit first");
    return this.popularity;
  }

  hyperParameters(): HyperParameters {
    return {};
  }
}
