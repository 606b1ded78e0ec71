/**
 * A closed-form blend of a user-side and an item-side model:
 *
 *   S = w · z(S_user) + (1 − w) · z(S_item),   w ∈ [0, 1]
 *
 * S_user = K(X_C, X_S)·α is ∞-AE (Sachdeva, Dhaliwal, Wu, McAuley, "Infinite
 * Recommendation Networks: A Data-Centric Approach", NeurIPS 2022), kernel
 * ridge regression over users; S_item = X_C·B is EASE (Steck, WWW 2019) or,
 * with diag(B) ≤ ξ, RLAE (Moon, Kim, Lee, SIGIR 2023), ridge regression over
 * items. Each component is its own closed form; the blend adds no training.
 *
 * What is normalised, and why: z(·) standardises each user's score row,
 * (s − mean)/std over the items the evaluator ranks for that user (those not in
 * the context row, which it masks). The two models' score scales differ per
 * user: ∞-AE's row grows with the user's kernel row K(x_u, X_S), EASE's with
 * the number of items the user has, and their ridge strengths shrink them
 * differently. Unnormalised, one w would mean a different trade-off for light
 * and heavy users; standardised, w is each model's share in every user's
 * ranking. Centring changes no ranking (a per-user constant); the std is the
 * scale. normalise: "none" blends raw scores (both regress the same X).
 *
 * w and the components' hyper-parameters are grid axes chosen on validation
 * (registry "blend"). Within one grid search (a shared FitScratch) each
 * component is fitted once and its score blocks are cached per context, so a
 * further w costs one ranking pass.
 */
import type { InteractionMatrix } from "../data/matrix.ts";
import type { AeKernel } from "../ntk/nngp.ts";
import type { Backend, DeviceRequest } from "../onnx/backend.ts";
import { EASE } from "./ease/model.ts";
import { InfiniteAE } from "./infinite-ae/model.ts";
import type { FitOptions, HyperParameters, Recommender } from "./model.ts";
import { type FitScratch, ScratchSlot } from "./scratch.ts";
import type { Timings } from "./timings.ts";

/** ∞-AE's hyper-parameters as a blend component. */
export interface BlendUserSide {
  lambda: number;
  depth?: number;
  kernel?: AeKernel;
}

/** The item-side model: EASE (ξ = 0) or RLAE (diag(B) ≤ ξ). */
export interface BlendItemSide {
  lambda: number;
  /** Upper bound ξ on diag(B): 0 is EASE (default), > 0 RLAE. */
  diagonalBound?: number;
}

export type BlendNormalisation = "user" | "none";

export interface BlendOptions {
  /** w: the user-side model's weight in [0, 1]. */
  weight: number;
  user: BlendUserSide;
  item: BlendItemSide;
  /** "user": standardise each user's row per model (default); "none": raw scores. */
  normalise?: BlendNormalisation;
  /** Shared by one grid search: fitted components and their score blocks are reused across w. */
  scratch?: FitScratch;
  device?: DeviceRequest;
  backend?: Backend;
  timings?: Timings;
  engine?: "auto" | "host" | "device";
}

/** A fitted component, its training matrix and (when shared) its score blocks per context. */
interface Component {
  train: InteractionMatrix;
  model: Recommender;
  blocks: WeakMap<InteractionMatrix, Map<string, Float32Array>> | null;
  release(): void;
}

const COMPONENT_SLOT = new ScratchSlot<Component>("blend:component");

/** Standardises each row of `out` over the items not in that user's context row (see the header). */
export function standardiseRows(out: Float32Array, context: InteractionMatrix, start: number, end: number, seen: Uint8Array): void {
  const m = context.numItems;
  for (let u = start; u < end; u++) {
    const row = out.subarray((u - start) * m, (u - start + 1) * m);
    const items = context.rowItems(u);
    for (const i of items) seen[i] = 1;
    let count = 0;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < m; i++) {
      if (seen[i]) continue;
      count++;
      sum += row[i];
      sumSq += row[i] * row[i];
    }
    for (const i of items) seen[i] = 0;
    const mean = count > 0 ? sum / count : 0;
    const variance = count > 0 ? Math.max(0, sumSq / count - mean * mean) : 0;
    // A constant row ranks nothing: centre it and leave the scale alone.
    const inv = variance > 0 ? 1 / Math.sqrt(variance) : 1;
    for (let i = 0; i < m; i++) row[i] = (row[i] - mean) * inv;
  }
}

export class Blend implements Recommender {
  readonly name = "blend";
  readonly weight: number;
  readonly normalise: BlendNormalisation;
  private user?: Component;
  private item?: Component;
  private seen?: Uint8Array;

  constructor(private readonly options: BlendOptions) {
    if (!(options.weight >= 0 && options.weight <= 1)) throw new Error(`Blend: w must be in [0, 1], got ${options.weight}`);
    this.weight = options.weight;
    this.normalise = options.normalise ?? "user";
    if (this.normalise !== "user" && this.normalise !== "none") throw new Error(`Blend: normalise must be user or none, got '${String(this.normalise)}'`);
  }

  private async component(side: "user" | "item", train: InteractionMatrix, fitOptions: FitOptions): Promise<Component> {
    const o = this.options;
    const params = side === "user"
      ? { lambda: o.user.lambda, depth: o.user.depth ?? 1, kernel: o.user.kernel ?? "ntk" }
      : { lambda: o.item.lambda, diagonalBound: o.item.diagonalBound ?? 0 };
    const key = `${side}:${JSON.stringify(params)}:${fitOptions.seed ?? ""}`;
    const cached = o.scratch?.get(COMPONENT_SLOT, key);
    if (cached && cached.train === train) return cached;
    const shared = { scratch: o.scratch, device: o.device, backend: o.backend, timings: o.timings, engine: o.engine };
    const model: Recommender = side === "user"
      ? new InfiniteAE({ ...o.user, ...shared })
      : new EASE({ lambda: o.item.lambda, diagonalBound: o.item.diagonalBound ?? 0, name: (o.item.diagonalBound ?? 0) > 0 ? "rlae" : "ease", ...shared });
    await model.fit(train, fitOptions);
    const c: Component = { train, model, blocks: o.scratch ? new WeakMap() : null, release: () => void model.dispose?.() };
    if (o.scratch) {
      o.scratch.get(COMPONENT_SLOT, key)?.release();
      o.scratch.set(COMPONENT_SLOT, key, c);
    }
    return c;
  }

  async fit(train: InteractionMatrix, options: FitOptions = {}): Promise<void> {
    this.disposeOwn();
    // w = 0 or 1 needs one side only; the other is never scored. The item side first: what
    // it keeps (B, and G in a scratch) is smaller than ∞-AE's K and α, which its fit would add to.
    this.item = this.weight < 1 ? await this.component("item", train, options) : undefined;
    this.user = this.weight > 0 ? await this.component("user", train, options) : undefined;
    this.seen = new Uint8Array(train.numItems);
  }

  /** One component's (normalised) scores for users [start, end), from the cache when shared. */
  private async componentScores(c: Component, context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const key = `${start}:${end}:${this.normalise}`;
    const hit = c.blocks?.get(context)?.get(key);
    if (hit) {
      out.set(hit);
      return;
    }
    await c.model.scoreBlock(context, start, end, out);
    if (this.normalise === "user") standardiseRows(out, context, start, end, this.seen!);
    if (c.blocks) {
      let perContext = c.blocks.get(context);
      if (!perContext) c.blocks.set(context, (perContext = new Map()));
      perContext.set(key, Float32Array.from(out));
    }
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    if (!this.seen) throw new Error("Blend.scoreBlock: call fit first");
    const w = this.weight;
    if (!this.item) return this.componentScores(this.user!, context, start, end, out);
    if (!this.user) return this.componentScores(this.item, context, start, end, out);
    await this.componentScores(this.user, context, start, end, out);
    const itemScores = new Float32Array(out.length);
    await this.componentScores(this.item, context, start, end, itemScores);
    for (let i = 0; i < out.length; i++) out[i] = w * out[i] + (1 - w) * itemScores[i];
  }

  hyperParameters(): HyperParameters {
    const o = this.options;
    const user: HyperParameters = { userLambda: o.user.lambda, userDepth: o.user.depth ?? 1 };
    if ((o.user.kernel ?? "ntk") !== "ntk") user.userKernel = o.user.kernel!;
    const xi = o.item.diagonalBound ?? 0;
    return { w: this.weight, ...user, item: xi > 0 ? "rlae" : "ease", itemLambda: o.item.lambda, ...(xi > 0 ? { itemXi: xi } : {}), normalise: this.normalise };
  }

  /** Components held in a scratch are released with it; only unshared ones are disposed here. */
  private disposeOwn(): void {
    if (!this.options.scratch) {
      this.user?.release();
      this.item?.release();
    }
    this.user = undefined;
    this.item = undefined;
  }

  dispose(): void {
    this.disposeOwn();
  }
}
