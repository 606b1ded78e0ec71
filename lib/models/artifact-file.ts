/** Reading and writing artifacts on disk: atomic writes (temp file, then rename). */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { decodeDuals, type DualsArtifact } from "./artifact.ts";

/** Writes bytes to `path` via a temp file in the same folder, so readers never see half a file. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function readDualsFile(path: string): DualsArtifact {
  if (!existsSync(path)) throw new Error(`missing file: ${path}`);
  return decodeDuals(new Uint8Array(readFileSync(path)), path);
}
