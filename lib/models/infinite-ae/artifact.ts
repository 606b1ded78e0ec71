/**
 * The saved-duals artifact (`.infrec`) of a fitted ∞-AE: everything needed to
 * recommend without refitting — the support users' rows (sparse), the duals
 * α, λ, depth, item ids, the dataset's users with their histories and the
 * dataset statistics — in the shared container of lib/models/artifact-format.ts
 * (format version 2). Sections: support.indptr, support.indices,
 * support.values, alpha (float32 or float16, |S| × items, row-major), and the
 * shared seen.* user histories.
 *
 * Version 1 files (∞-AE only, before the shared container) still load:
 *   "INFREC-DUALS\n" · u32 1 · u32 header length · header (JSON) · padding ·
 *   indptr, indices, values, alpha · CRC-32.
 * Their users are the support users (when they were real ones), with their
 * training rows as history.
 *
 * Parsing and serialising use no Node APIs, so browsers and the edge module
 * read the same bytes; file I/O lives in artifact-file.ts.
 */
import { InteractionMatrix } from "../../data/matrix.ts";
import { crc32 } from "../../util/checksum.ts";
import {
  ARTIFACT_MAGIC, ARTIFACT_VERSION, type ArtifactCommon, commonFields, containerVersion, csrSection, type DecodedContainer, decodeContainer, encodeContainer,
  fromFloat16Bits, pad8, section, toFloat16Bits,
} from "../artifact-format.ts";

export { ARTIFACT_MAGIC, ARTIFACT_VERSION, crc32, fromFloat16Bits, toFloat16Bits };

export type DualsDType = "float32" | "float16";

export interface DualsArtifact extends ArtifactCommon {
  model: "inf-ae";
  lambda: number;
  depth: number;
  /** The ridge c = λ·tr(K)/|S| the duals were solved with. */
  shift: number;
  /** Support users' rows (|S| × items). */
  support: InteractionMatrix;
  /** Original ids of the support users when they are real users (empty for summaries). */
  supportUserIds: string[];
  /** Duals, |S| × items, row-major float32 (widened on load when stored as float16). */
  alpha: Float32Array;
  /** Storage type of α in the file. */
  alphaDType: DualsDType;
}

/** Serialises an artifact to bytes (format version 2). */
export function encodeDuals(a: Omit<DualsArtifact, "alphaDType">, alphaDType: DualsDType = "float32"): Uint8Array {
  const s = a.support;
  const n = s.numUsers;
  const m = s.numItems;
  if (a.alpha.length !== n * m) throw new Error(`encodeDuals: α has ${a.alpha.length} values, expected ${n}×${m}`);
  if (a.itemIds.length !== m) throw new Error(`encodeDuals: ${a.itemIds.length} item ids for ${m} items`);
  if (alphaDType !== "float32" && alphaDType !== "float16") throw new Error(`encodeDuals: α dtype must be float32 or float16, got '${String(alphaDType)}'`);
  return encodeContainer(
    {
      model: "inf-ae",
      itemIds: a.itemIds,
      dataset: a.dataset,
      hyperParameters: a.hyperParameters ?? { lambda: a.lambda, depth: a.depth },
      lambda: a.lambda,
      depth: a.depth,
      shift: a.shift,
      numSupport: n,
      supportUserIds: a.supportUserIds,
    },
    [
      { name: "support.indptr", dtype: "int32", data: s.indptr },
      { name: "support.indices", dtype: "int32", data: s.indices },
      { name: "support.values", dtype: "float32", data: s.values },
      { name: "alpha", dtype: alphaDType, data: a.alpha },
    ],
    a.users,
  );
}

/** Parses artifact bytes (format 1 or 2); corrupt, truncated, foreign or non-∞-AE files give a clear error. */
export function decodeDuals(bytes: Uint8Array, what = "artifact"): DualsArtifact {
  if (containerVersion(bytes, what) === 1) return decodeVersion1(bytes, what);
  return dualsFromContainer(decodeContainer(bytes, what), what);
}

/** The ∞-AE artifact in a decoded version-2 container. */
export function dualsFromContainer(c: DecodedContainer, what: string): DualsArtifact {
  const h = c.header;
  if (h.model !== "inf-ae") throw new Error(`${what}: a saved ${h.model} model, not ∞-AE duals`);
  const n = Number(h.numSupport);
  const m = h.itemIds.length;
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: corrupt header (support size)`);
  const alpha = section(c, "alpha", Float32Array, n * m, what);
  const alphaDType = h.sections.find((s) => s.name === "alpha")!.dtype;
  return {
    model: "inf-ae",
    ...commonFields(c, what),
    lambda: Number(h.lambda),
    depth: Number(h.depth),
    shift: Number(h.shift),
    support: csrSection(c, "support", n, m, what),
    supportUserIds: Array.isArray(h.supportUserIds) ? h.supportUserIds.map(String) : [],
    alpha,
    alphaDType: alphaDType === "float16" ? "float16" : "float32",
  };
}

interface Version1Header {
  model: "inf-ae";
  lambda: number;
  depth: number;
  shift: number;
  numSupport: number;
  numItems: number;
  nnz: number;
  alphaDType: DualsDType;
  itemIds: string[];
  supportUserIds: string[];
  dataset?: DualsArtifact["dataset"];
}

/** The version-1 layout (∞-AE only), as infrec wrote it before the shared container. */
function decodeVersion1(bytes: Uint8Array, what: string): DualsArtifact {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headStart = ARTIFACT_MAGIC.length + 8;
  const jsonLen = view.getUint32(ARTIFACT_MAGIC.length + 4, true);
  if (headStart + jsonLen + 4 > bytes.length) throw new Error(`${what}: truncated (header runs past the end)`);
  let header: Version1Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(headStart, headStart + jsonLen)));
  } catch {
    throw new Error(`${what}: corrupt header`);
  }
  const { numSupport: n, numItems: m, nnz, alphaDType } = header;
  if (![n, m, nnz].every((x) => Number.isInteger(x) && x >= 0) || (alphaDType !== "float32" && alphaDType !== "float16")) {
    throw new Error(`${what}: corrupt header (sizes or dtype)`);
  }
  const dataStart = headStart + jsonLen + pad8(headStart + jsonLen);
  const sizes = [4 * (n + 1), 4 * nnz, 4 * nnz, (alphaDType === "float16" ? 2 : 4) * n * m];
  let total = dataStart;
  for (const sz of sizes) total += sz + pad8(sz);
  if (bytes.length < total + 4) throw new Error(`${what}: truncated (${bytes.length} bytes, expected ${total + 4})`);
  if (bytes.length > total + 4) throw new Error(`${what}: ${bytes.length - total - 4} unexpected trailing bytes`);
  if (crc32(bytes.subarray(0, total)) !== view.getUint32(total, true)) throw new Error(`${what}: checksum mismatch (the file is corrupt)`);
  let off = dataStart;
  const take = (sz: number): ArrayBuffer => {
    const buf = bytes.slice(off, off + sz).buffer; // aligned copy
    off += sz + pad8(sz);
    return buf;
  };
  const indptr = new Int32Array(take(sizes[0]));
  const indices = new Int32Array(take(sizes[1]));
  const values = new Float32Array(take(sizes[2]));
  let alpha: Float32Array;
  if (alphaDType === "float16") {
    const h = new Uint16Array(take(sizes[3]));
    alpha = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) alpha[i] = fromFloat16Bits(h[i]);
  } else alpha = new Float32Array(take(sizes[3]));
  for (let p = 0; p < indices.length; p++) {
    if (indices[p] < 0 || indices[p] >= m) throw new Error(`${what}: corrupt support rows (item index ${indices[p]})`);
  }
  const support = new InteractionMatrix(n, m, indptr, indices, values);
  const supportUserIds = header.supportUserIds ?? [];
  return {
    model: "inf-ae",
    lambda: header.lambda,
    depth: header.depth,
    shift: header.shift,
    support,
    supportUserIds,
    alpha,
    itemIds: header.itemIds,
    dataset: header.dataset,
    hyperParameters: { lambda: header.lambda, depth: header.depth },
    // Version 1 saved no histories: real support users are known by their training rows.
    users: supportUserIds.length === n && n > 0 ? { ids: supportUserIds, seen: support } : undefined,
    alphaDType,
  };
}
