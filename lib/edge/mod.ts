/**
 * Edge inference: load a saved-duals artifact from bytes and recommend with
 * onnxruntime-web (WASM) only — no Node APIs — so the same module runs in
 * browsers, Deno and Bun. Fetch the artifact however the host likes.
 *
 *   const rec = await EdgeRecommender.fromBytes(bytes);
 *   const [{ items }] = await rec.recommend([["12", "55", "301"]], 10);
 */
import { decodeDuals } from "../models/infinite-ae/artifact.ts";
import { DualsScorer, type RecommendResult } from "../models/infinite-ae/duals-scorer.ts";
import { getBackend } from "../onnx/backend.ts";

export interface EdgeOptions {
  /** WASM threads (default 1). */
  threads?: number;
}

/** What an artifact says about itself, for display. */
export interface EdgeModelInfo {
  lambda: number;
  depth: number;
  /** Support users the duals were solved over. */
  numSupport: number;
  numItems: number;
  /** The dataset's name, when the artifact recorded it. */
  dataset?: string;
}

export class EdgeRecommender {
  private constructor(private readonly scorer: DualsScorer) {}

  static async fromBytes(bytes: Uint8Array, options: EdgeOptions = {}): Promise<EdgeRecommender> {
    const artifact = decodeDuals(bytes);
    const backend = await getBackend({ device: "wasm", threads: options.threads ?? 1 });
    return new EdgeRecommender(new DualsScorer(artifact, backend));
  }

  /** Item ids the model knows. */
  get itemIds(): readonly string[] {
    return this.scorer.artifact.itemIds;
  }

  get info(): EdgeModelInfo {
    const a = this.scorer.artifact;
    return { lambda: a.lambda, depth: a.depth, numSupport: a.support.numUsers, numItems: a.itemIds.length, dataset: a.dataset?.name };
  }

  /** Top-k for each user, given as a list of item ids they interacted with. */
  recommend(users: readonly (readonly string[])[], k = 10): Promise<RecommendResult[]> {
    return this.scorer.recommend(users, k);
  }
}
