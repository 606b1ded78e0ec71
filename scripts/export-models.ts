/**
 * Writes every exported ONNX graph — the engine's (lib/onnx/graphs/index.ts)
 * and the NTK's (lib/ntk/gram-graph.ts) — to models/<name>.onnx. The bytes are deterministic, so regenerating must not
 * change the committed files (tests/onnx/export.test.ts checks this).
 *
 *   node --import tsx scripts/export-models.ts [outDir]
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exportedNtkGraphs } from "../lib/ntk/gram-graph.ts";
import { GRAPHS } from "../lib/onnx/graphs/index.ts";

export const MODELS_DIR = fileURLToPath(new URL("../models", import.meta.url));

/** Every graph committed under models/: file name (without .onnx) → fresh builder. */
export function exportedGraphs(): Record<string, () => Uint8Array> {
  return { ...GRAPHS, ...exportedNtkGraphs() };
}

export function exportModels(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const [name, build] of Object.entries(exportedGraphs())) {
    const path = join(outDir, `${name}.onnx`);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, build());
    renameSync(tmp, path);
    written.push(path);
  }
  return written;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const outDir = process.argv[2] ?? MODELS_DIR;
  for (const p of exportModels(outDir)) console.log(p);
}
