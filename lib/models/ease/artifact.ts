/**
 * The saved form of a fitted EASE: its item–item weights B (items × items,
 * row-major, zero diagonal) and λ in the shared artifact container
 * (lib/models/artifact-format.ts). Scoring a saved EASE is one product of the
 * context rows with B, so nothing else is needed.
 */
import { InteractionMatrix } from "../../data/matrix.ts";
import type { Backend } from "../../onnx/backend.ts";
import { type ArtifactCommon, commonFields, type DecodedContainer, encodeContainer, section } from "../artifact-format.ts";
import type { Recommender } from "../model.ts";
import { EASE } from "./model.ts";

export type WeightsDType = "float32" | "float16";

export interface EaseArtifact extends ArtifactCommon {
  model: "ease";
  /** The fitted closed form's name: ease, or a relative scored the same way (edlae, rlae, …). */
  name?: string;
  /** λ for EASE and its relatives; absent for other X·B models (GF-CF, Turbo-CF). */
  lambda?: number;
  /** B, items × items, row-major. */
  weights: Float32Array;
  /** Storage type of B in the file. */
  weightsDType: WeightsDType;
}

/** Identity rows per block when reading B out of a fitted model (bounds the dense block). */
const WEIGHT_ROW_BLOCK = 1024;

/**
 * B of a fitted EASE on either engine: the scores of the one-item users e_i
 * are the rows of B (e_i·B = B_i, exactly: every other term is 0·B_kj).
 */
export async function easeWeights(model: Recommender, numItems: number): Promise<Float32Array> {
  const m = numItems;
  const identity = new InteractionMatrix(
    m, m, Int32Array.from({ length: m + 1 }, (_, i) => i), Int32Array.from({ length: m }, (_, i) => i), new Float32Array(m).fill(1),
  );
  const b = new Float32Array(m * m);
  for (let r0 = 0; r0 < m; r0 += WEIGHT_ROW_BLOCK) {
    const r1 = Math.min(m, r0 + WEIGHT_ROW_BLOCK);
    await model.scoreBlock(identity, r0, r1, b.subarray(r0 * m, r1 * m));
  }
  return b;
}

/** The artifact of a fitted EASE, or of any model scored as X·B (B read through its scores). */
export async function easeArtifact(model: Recommender, meta: ArtifactCommon): Promise<Omit<EaseArtifact, "weightsDType">> {
  const lambda = model instanceof EASE ? model.lambda : undefined;
  return { model: "ease", name: model.name, lambda, weights: await easeWeights(model, meta.itemIds.length), ...meta, hyperParameters: model.hyperParameters() };
}

export function encodeEase(a: Omit<EaseArtifact, "weightsDType">, weightsDType: WeightsDType = "float32"): Uint8Array {
  const m = a.itemIds.length;
  if (a.weights.length !== m * m) throw new Error(`encodeEase: B has ${a.weights.length} values, expected ${m}×${m}`);
  if (weightsDType !== "float32" && weightsDType !== "float16") throw new Error(`encodeEase: B dtype must be float32 or float16, got '${String(weightsDType)}'`);
  return encodeContainer(
    { model: "ease", name: a.name ?? "ease", itemIds: a.itemIds, dataset: a.dataset, hyperParameters: a.hyperParameters ?? (a.lambda === undefined ? {} : { lambda: a.lambda }), ...(a.lambda === undefined ? {} : { lambda: a.lambda }) },
    [{ name: "weights", dtype: weightsDType, data: a.weights }],
    a.users,
  );
}

/** The EASE artifact in a decoded container (see lib/models/artifact.ts for reading any kind). */
export function easeFromContainer(c: DecodedContainer, what: string): EaseArtifact {
  if (c.header.model !== "ease") throw new Error(`${what}: a saved ${c.header.model} model, not EASE`);
  const common = commonFields(c, what);
  const m = common.itemIds.length;
  const weights = section(c, "weights", Float32Array, m * m, what);
  const dtype = c.header.sections.find((s) => s.name === "weights")!.dtype;
  const name = typeof c.header.name === "string" ? c.header.name : "ease";
  const lambda = typeof c.header.lambda === "number" ? c.header.lambda : undefined;
  return { model: "ease", name, ...common, lambda, weights, weightsDType: dtype === "float16" ? "float16" : "float32" };
}

/** Scores from a saved EASE: context rows · B on a backend. */
export class SavedEASE {
  readonly name: string;
  constructor(readonly artifact: EaseArtifact, private readonly backend: Backend) {
    this.name = artifact.name ?? "ease";
  }

  async scoreBlock(context: InteractionMatrix, start: number, end: number, out: Float32Array): Promise<void> {
    const m = this.artifact.itemIds.length;
    if (context.numItems !== m) throw new Error(`SavedEASE.scoreBlock: context has ${context.numItems} items, the artifact ${m}`);
    const rows = end - start;
    await this.backend.matmul(context.denseRows(start, end), [rows, m], this.artifact.weights, [m, m], { out: out.subarray(0, rows * m) });
  }
}
