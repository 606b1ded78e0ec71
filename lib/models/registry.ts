/**
 * Model names the CLI and scripts accept, each with its constructor and the
 * hyper-parameter grid searched on validation.
 */
import { PopRec } from "./pop.ts";
import type { Recommender } from "./model.ts";

export interface ModelEntry {
  /** One-line description for --help. */
  description: string;
  /** Candidates searched on validation; one entry when the model has no hyper-parameters. */
  grid: Record<string, number | string | boolean>[];
  build(params: Record<string, number | string | boolean>): Recommender;
}

export const MODELS: Record<string, ModelEntry> = {
  pop: {
    description: "PopRec: items ranked by training popularity",
    grid: [{}],
    build: () => new PopRec(),
  },
};

export function modelEntry(name: string): ModelEntry {
  const m = MODELS[name];
  if (!m) throw new Error(`unknown model '${name}' (known: ${Object.keys(MODELS).join(", ")})`);
  return m;
}
