/**
 * DISTILL-CF as a sampler (docs/protocol.md §4–5): synthesises μ = budget users
 * with lib/distill/run.ts and returns the summary's weighted rows as the
 * training matrix (`synthetic: true`).
 *
 * DISTILL-CF validates on real users to pick λ and keep its best summary, so
 * the sampler is built with the dataset whose validation split it may use;
 * `sample(train, …)` distils `train` (e.g. a noisy copy of the dataset's
 * training matrix) in place of the dataset's own.
 *
 * With `cacheDir`, each summary is kept there under a name made of the
 * dataset, μ, the seed and a CRC of (training matrix, run options), with a
 * JSON sidecar of the run's facts; a later sample with the same inputs reads
 * it instead of distilling again (the figure scripts share summaries so).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Dataset } from "../data/dataset.ts";
import { loadSummary, saveSummary, type Summary } from "../distill/summary.ts";
import { crc32 } from "../util/checksum.ts";
import { writeFileAtomic } from "../util/files.ts";
import type { InteractionMatrix } from "../data/matrix.ts";
import { RUN_DISTILL_DEFAULTS, type RunDistillHooks, type RunDistillOptions, runDistill } from "../distill/run.ts";
import { summaryToMatrix } from "../distill/summary.ts";
import { type Budget, checkBudget, type Sampler, type SampleResult, usersWithInteractions } from "./sampler.ts";

export class DistillCfSampler implements Sampler {
  readonly name = "distill-cf";

  constructor(
    readonly dataset: Dataset,
    readonly options: Partial<Omit<RunDistillOptions, "mu" | "seed">> = {},
    readonly hooks: RunDistillHooks = {},
    readonly cacheDir: string | null = null,
  ) {}

  /** Cache file stem for distilling `train` into μ users with `seed`. */
  cacheStem(train: InteractionMatrix, mu: number, seed: number): string {
    // Options that change the result, defaults resolved (a changed default is a new key); device, workers and memory knobs do not.
    const { device, samplingWorkers: _w, storeNoiseBytes: _s, batchBlock: _b, mu: _m, seed: _e, sampling, innerPrecision, validationUsers, ...rest } = { ...RUN_DISTILL_DEFAULTS, ...this.options };
    // Keys written before these options existed stand for float64 inner products and CPU sampling; only other values join the key.
    const onDevice = sampling === "device" || (sampling === "auto" && (device === "webgpu" || device === "cuda"));
    if (innerPrecision !== "float64") Object.assign(rest, { innerPrecision });
    if (onDevice) Object.assign(rest, { sampling: "device" });
    if (validationUsers !== null) Object.assign(rest, { validationUsers });
    const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    let c = crc32(bytes(train.indptr));
    c = crc32(bytes(train.indices), c);
    c = crc32(bytes(train.values), c);
    c = crc32(new TextEncoder().encode(JSON.stringify({ items: train.numItems, ...rest }, Object.keys({ items: 0, ...rest }).sort())), c);
    return join(this.cacheDir!, `${this.dataset.name}-mu${mu}-seed${seed}-${c.toString(16).padStart(8, "0")}`);
  }

  async sample(train: InteractionMatrix, budget: Budget, seed: number): Promise<SampleResult> {
    const b = checkBudget(train, budget);
    const { dataset } = this;
    if (train.numUsers !== dataset.train.numUsers || train.numItems !== dataset.train.numItems) {
      throw new Error(
        `distill-cf: training matrix ${train.numUsers}×${train.numItems} does not match dataset ${dataset.name} (${dataset.train.numUsers}×${dataset.train.numItems})`,
      );
    }
    // An interaction share f reads as f · (users with entries) synthetic users.
    const mu = "users" in b ? b.users : Math.max(1, Math.round(b.interactions * usersWithInteractions(train).length));
    const stem = this.cacheDir ? this.cacheStem(train, mu, seed) : null;
    let summary: Summary;
    let facts: CachedRunFacts;
    if (stem && existsSync(`${stem}.infrec-summary`) && existsSync(`${stem}.json`)) {
      summary = loadSummary(`${stem}.infrec-summary`);
      facts = JSON.parse(readFileSync(`${stem}.json`, "utf8")) as CachedRunFacts;
      if (summary.header.mu !== mu || summary.header.items !== train.numItems || facts.initialUsers.length !== mu) {
        throw new Error(`distill-cf: cached summary ${stem}.infrec-summary does not match μ = ${mu} × ${train.numItems} items; delete it`);
      }
    } else {
      const ds = train === dataset.train ? dataset : { ...dataset, train };
      const run = await runDistill(ds, { ...this.options, mu, seed }, this.hooks);
      summary = run.summary;
      facts = { lambda: run.lambda, bestStep: run.bestStep, stepsRun: run.stepsRun, stopReason: run.stopReason, initialUsers: [...run.initialUsers] };
      if (stem && run.stopReason !== "interrupted") {
        mkdirSync(this.cacheDir!, { recursive: true });
        saveSummary(`${stem}.infrec-summary`, summary);
        // The sidecar last: a summary without it is not a cache hit.
        writeFileAtomic(`${stem}.json`, JSON.stringify(facts) + "\n");
      }
    }
    const matrix = summaryToMatrix(summary);
    return {
      train: matrix,
      keptUsers: Int32Array.from(facts.initialUsers),
      keptInteractions: matrix.nnz,
      synthetic: true,
      info: {
        lambda: facts.lambda, bestStep: facts.bestStep, stepsRun: facts.stepsRun, stopReason: facts.stopReason, sumOfWeights: matrix.total,
        ...(stem ? { cached: stem } : {}),
      },
    };
  }
}

/** What a cached summary's sidecar records about its run. */
interface CachedRunFacts {
  lambda: number;
  bestStep: number;
  stepsRun: number;
  stopReason: string;
  initialUsers: number[];
}
