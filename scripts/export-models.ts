/**
 * Writes every registered ONNX graph (lib/onnx/graphs/index.ts) to
 * models/<name>.onnx. The bytes are deterministic, so regenerating must not
 * change the committed files (tests/onnx/export.test.ts checks this).
 *
 *   node --import tsx scripts/export-models.ts [outDir]
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GRAPHS, graphBytes, type GraphName } from "../lib/onnx/graphs/index.ts";

export const MODELS_DIR = fileURLToPath(new URL("../models/", import.meta.url));

export function exportModels(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const name of Object.keys(GRAPHS) as GraphName[]) {
    const path = join(outDir, `${name}.onnx`);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, graphBytes(name));
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
