/** Reading saved models from disk (any kind); writes go through writeFileAtomic (temp file, then rename). */
import { existsSync, readFileSync, statSync } from "node:fs";
import { decodeArtifact, type ModelArtifact } from "./artifact.ts";

export { writeFileAtomic } from "../util/files.ts";

export function readArtifactFile(path: string): ModelArtifact {
  if (!existsSync(path)) throw new Error(`missing file: ${path}`);
  if (statSync(path).isDirectory()) throw new Error(`${path} is a folder, not an artifact file`);
  return decodeArtifact(new Uint8Array(readFileSync(path)), path);
}
