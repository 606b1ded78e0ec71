/**
 * Saved models of every kind behind one interface: decode any artifact
 * (dispatching on the shared header's model kind), score blocks of users from
 * it, and recommend the top-k unseen items for many users at once.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import type { Backend } from "../onnx/backend.ts";
import { topK } from "../ranking/top-k.ts";
import { type ArtifactCommon, type ArtifactKind, containerVersion, decodeContainer } from "./artifact-format.ts";
import { type EaseArtifact, easeArtifact, easeFromContainer, encodeEase, SavedEASE } from "./ease/artifact.ts";
import { EASE } from "./ease/model.ts";
import { InfiniteAE } from "./infinite-ae/model.ts";
import { isItemItemLinear, type Recommender } from "./model.ts";
import { PopRec } from "./pop.ts";
import { decodeDuals, type DualsArtifact, dualsFromContainer, encodeDuals } from "./infinite-ae/artifact.ts";
import { DualsScorer } from "./infinite-ae/duals-scorer.ts";
import { encodePop, type PopArtifact, popArtifact, popFromContainer, SavedPopRec } from "./pop-artifact.ts";

export type ModelArtifact = DualsArtifact | EaseArtifact | PopArtifact;

/** The models `hasSavedForm` accepts, for messages. */
export const SAVED_FORMS = "only inf-ae, pop, ease and its relatives, gf-cf and turbo-cf have one";

/** Parses artifact bytes of any kind (∞-AE format 1 included); corrupt or foreign bytes give a clear error. */
export function decodeArtifact(bytes: Uint8Array, what = "artifact"): ModelArtifact {
  if (containerVersion(bytes, what) === 1) return decodeDuals(bytes, what);
  const c = decodeContainer(bytes, what);
  switch (c.header.model) {
    case "inf-ae":
      return dualsFromContainer(c, what);
    case "ease":
      return easeFromContainer(c, what);
    case "pop":
      return popFromContainer(c, what);
  }
}

/** Serialises an artifact of any kind (∞-AE's α and EASE's B in their recorded storage type). */
export function encodeArtifact(a: ModelArtifact): Uint8Array {
  switch (a.model) {
    case "inf-ae":
      return encodeDuals(a, a.alphaDType);
    case "ease":
      return encodeEase(a, a.weightsDType);
    case "pop":
      return encodePop(a);
  }
}

export interface ArtifactMeta extends ArtifactCommon {
  /** Ids of the rows the model was fitted on, when they are real users (∞-AE saves them with its support rows). */
  trainUserIds?: readonly string[];
  /** Store ∞-AE's α or EASE's B as float16 (half the size). */
  half?: boolean;
}

/** Whether a model has a saved form: ∞-AE, PopRec, and the models scored as X·B (EASE and its relatives, GF-CF, Turbo-CF). */
export function hasSavedForm(model: Recommender): boolean {
  return model instanceof InfiniteAE || model instanceof EASE || isItemItemLinear(model) || model instanceof PopRec;
}

/** The artifact of a fitted model with precomputable weights (∞-AE, EASE, PopRec); other models are an error. */
export async function artifactOf(model: Recommender, meta: ArtifactMeta): Promise<ModelArtifact> {
  const { trainUserIds, half, ...common } = meta;
  const dtype = half ? "float16" : "float32";
  if (model instanceof InfiniteAE) {
    const duals = await model.toArtifact({ itemIds: common.itemIds, userIds: trainUserIds, dataset: common.dataset });
    return { ...duals, users: common.users, hyperParameters: model.hyperParameters(), alphaDType: dtype };
  }
  if (model instanceof EASE || isItemItemLinear(model)) return { ...(await easeArtifact(model, common)), weightsDType: dtype };
  if (model instanceof PopRec) return popArtifact(model, common);
  throw new Error(`model '${model.name}' has no saved form (${SAVED_FORMS})`);
}

/** A saved model ready to score: blocks of context rows over its items. */
export interface SavedModel {
  readonly kind: ArtifactKind;
  /** The fitted model's name (an EASE artifact may hold EDLAE, RLAE, …). */
  readonly name: string;
  readonly artifact: ModelArtifact;
  /** Score values one user costs in a block (items, plus ∞-AE's support Gram row): sizes the blocks. */
  readonly valuesPerUser: number;
  scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void>;
}

/** The scorer of an artifact; `backend` is asked for only by kinds that run ONNX graphs (not PopRec). */
export async function savedModel(artifact: ModelArtifact, backend: () => Promise<Backend>): Promise<SavedModel> {
  const items = artifact.itemIds.length;
  switch (artifact.model) {
    case "inf-ae": {
      const scorer = new DualsScorer(artifact, await backend());
      return { kind: "inf-ae", name: "inf-ae", artifact, valuesPerUser: items + artifact.support.numUsers, scoreBlock: (c, s, e, o) => scorer.scoreBlock(c, s, e, o) };
    }
    case "ease": {
      const scorer = new SavedEASE(artifact, await backend());
      return { kind: "ease", name: artifact.name ?? "ease", artifact, valuesPerUser: items, scoreBlock: (c, s, e, o) => scorer.scoreBlock(c, s, e, o) };
    }
    case "pop": {
      const scorer = new SavedPopRec(artifact);
      return { kind: "pop", name: "pop", artifact, valuesPerUser: items, scoreBlock: (c, s, e, o) => scorer.scoreBlock(c, s, e, o) };
    }
  }
}

/** One user's top-k: item indices best first and their scores. */
export interface RankedItems {
  /** The user's row in the context matrix. */
  user: number;
  items: Int32Array;
  scores: Float32Array;
}

export interface RecommendOptions {
  /** Users (context rows) to recommend for, in this order; default every row. */
  users?: ArrayLike<number>;
  /** Users per scored block (default: about 2^24 score values per block). */
  blockUsers?: number;
  /** Each block's lists, in order, as soon as they are ranked. */
  onBlock: (lists: RankedItems[]) => void | Promise<void>;
  /** Users done so far, after each block. */
  onProgress?: (done: number, total: number) => void;
}

/** Score values per block of users: 64 MB of float32. */
const BLOCK_VALUES = 1 << 24;

/**
 * Top-k items for many users of a context matrix: a block of users is scored
 * in one Gram/product, each user's own context items are excluded, and the
 * rest ranked best first with ties to the lower item index (lib/ranking).
 * A user who has seen all but j < k items gets j.
 */
export async function recommendTopK(model: SavedModel, context: InteractionMatrix, k: number, options: RecommendOptions): Promise<void> {
  if (!Number.isInteger(k) || k < 1) throw new Error(`recommend: k must be a positive integer, got ${k}`);
  const m = model.artifact.itemIds.length;
  if (context.numItems !== m) throw new Error(`recommend: the users' rows have ${context.numItems} items, the model ${m}`);
  const rows = options.users === undefined ? null : Int32Array.from(options.users);
  const ctx = rows === null ? context : context.selectUsers(rows);
  const n = ctx.numUsers;
  const block = Math.max(1, Math.min(n, options.blockUsers ?? Math.floor(BLOCK_VALUES / Math.max(1, model.valuesPerUser))));
  const scores = new Float32Array(Math.max(2, block) * m);
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block);
    const out = scores.subarray(0, (end - start) * m);
    if (end - start === 1) {
      // ORT's products take another kernel for a single row (GEMV), whose float32
      // rounding differs by ~1e-5; scored twice over as two rows, a user gets
      // the same scores alone (--user) as in any block (--all).
      await model.scoreBlock(ctx.selectUsers([start, start]), 0, 2, scores.subarray(0, 2 * m));
    } else await model.scoreBlock(ctx, start, end, out);
    const lists: RankedItems[] = [];
    for (let u = start; u < end; u++) {
      const row = out.subarray((u - start) * m, (u - start + 1) * m);
      let sum = 0;
      for (let i = 0; i < m; i++) sum += row[i];
      if (Number.isNaN(sum)) throw new Error(`recommend: model '${model.name}' gave NaN for user row ${rows ? rows[u] : u}, item ${row.findIndex((v) => Number.isNaN(v))}`);
      const seen = ctx.rowItems(u);
      for (const i of seen) row[i] = -Infinity;
      const top = topK(row, Math.min(k, m - seen.length));
      lists.push({ user: rows ? rows[u] : u, items: top, scores: Float32Array.from(top, (i) => row[i]) });
    }
    await options.onBlock(lists);
    options.onProgress?.(end, n);
  }
}
