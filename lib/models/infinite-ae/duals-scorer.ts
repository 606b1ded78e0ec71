/**
 * Recommending from saved duals: a user given as a list of item ids is scored
 * as K(x, X_S)·α — the same ONNX Gram and product as a fitted ∞-AE — with
 * its own items excluded. `scoreBlock` scores a block of context rows the
 * same way (many users per Gram and product: saved-model evaluation and
 * `recommend --all`). Runtime-agnostic: it takes any Backend, so the edge
 * module runs it on onnxruntime-web and the CLI on onnxruntime-node.
 */
import type { InteractionMatrix } from "../../data/matrix.ts";
import { ntkGram, sparseRowSumSq } from "../../ntk/gram.ts";
import { topK } from "../../ranking/top-k.ts";
import type { Backend } from "../../onnx/backend.ts";
import type { DualsArtifact } from "./artifact.ts";

export interface Recommendation {
  item: string;
  score: number;
}

export interface RecommendResult {
  items: Recommendation[];
  /** Input ids that are not items of the model (ignored in the scoring). */
  unknown: string[];
}

export class DualsScorer {
  readonly name = "inf-ae";
  private readonly itemIndex = new Map<string, number>();
  private readonly supportRows: Float32Array;
  private readonly supportNorms: Float32Array;

  constructor(readonly artifact: DualsArtifact, readonly backend: Backend) {
    artifact.itemIds.forEach((id, i) => this.itemIndex.set(id, i));
    this.supportRows = artifact.support.denseRows(0, artifact.support.numUsers);
    this.supportNorms = sparseRowSumSq(artifact.support);
  }

  get numItems(): number {
    return this.artifact.itemIds.length;
  }

  /** Dense rows for users given as item-id lists; unknown ids are collected. */
  private rows(users: readonly (readonly string[])[]): { x: Float32Array; unknown: string[][]; known: number[][] } {
    const m = this.numItems;
    const x = new Float32Array(users.length * m);
    const unknown: string[][] = [];
    const known: number[][] = [];
    users.forEach((ids, r) => {
      const u: string[] = [];
      const k: number[] = [];
      for (const id of ids) {
        const i = this.itemIndex.get(String(id).trim());
        if (i === undefined) u.push(String(id));
        else {
          x[r * m + i] = 1;
          k.push(i);
        }
      }
      unknown.push(u);
      known.push(k);
    });
    return { x, unknown, known };
  }

  /** Raw scores (users × items) for users given by their item ids. */
  async scoreUsers(users: readonly (readonly string[])[]): Promise<{ scores: Float32Array; unknown: string[][]; known: number[][] }> {
    // One user is scored as two identical rows: ORT multiplies a single row with
    // another kernel (GEMV) whose float32 rounding differs by ~1e-5, and a user's
    // scores should not depend on how many are scored with it (recommendTopK does the same).
    const { x, unknown, known } = this.rows(users.length === 1 ? [users[0], users[0]] : users);
    const n = this.artifact.support.numUsers;
    const m = this.numItems;
    const rows = users.length === 1 ? 2 : users.length;
    const k = await ntkGram(this.backend, x, rows, this.supportRows, n, m, { depth: this.artifact.depth, bSumSq: this.supportNorms });
    const scores = await this.backend.matmul(k, [rows, n], this.artifact.alpha, [n, m]);
    return { scores: scores.subarray(0, users.length * m), unknown: unknown.slice(0, users.length), known: known.slice(0, users.length) };
  }

  /** Scores (rows × items, row-major) of users [start, end) of a context matrix over the artifact's items. */
  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const m = this.numItems;
    if (context.numItems !== m) throw new Error(`DualsScorer.scoreBlock: context has ${context.numItems} items, the artifact ${m}`);
    const rows = end - start;
    const n = this.artifact.support.numUsers;
    const k = await ntkGram(this.backend, context.denseRows(start, end), rows, this.supportRows, n, m, { depth: this.artifact.depth, bSumSq: this.supportNorms });
    await this.backend.matmul(k, [rows, n], this.artifact.alpha, [n, m], { out: out.subarray(0, rows * m) });
  }

  /** Top-k items for each user (their own items excluded), best first, ties to the lower item index. */
  async recommend(users: readonly (readonly string[])[], k = 10): Promise<RecommendResult[]> {
    if (!Number.isInteger(k) || k < 1) throw new Error(`recommend: k must be a positive integer, got ${k}`);
    const { scores, unknown, known } = await this.scoreUsers(users);
    const m = this.numItems;
    return users.map((_, r) => {
      const row = scores.subarray(r * m, (r + 1) * m);
      for (const i of known[r]) row[i] = -Infinity;
      const top = topK(row, Math.min(k, m - known[r].length));
      return { items: [...top].map((i) => ({ item: this.artifact.itemIds[i], score: row[i] })), unknown: unknown[r] };
    });
  }
}
