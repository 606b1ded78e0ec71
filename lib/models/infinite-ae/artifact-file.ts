/** Reading and writing artifacts on disk: atomic writes (temp file, then rename). */
import { existsSync, readFileSync, statSync } from "node:fs";
import { writeFileAtomic } from "../../util/files.ts";

export { writeFileAtomic };
import { decodeDuals, type DualsArtifact } from "./artifact.ts";

export function readDualsFile(path: string): DualsArtifact {
  if (!existsSync(path)) throw new Error(`missing file: ${path}`);
  if (statSync(path).isDirectory()) throw new Error(`${path} is a folder, not an artifact file`);
  return decodeDuals(new Uint8Array(readFileSync(path)), path);
}
