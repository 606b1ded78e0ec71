/**
 * `infrec sample` and `infrec noise`: write a down-sampled or noisy copy of a
 * dataset as a saved split (lib/data/split.ts) that `--data FILE` reads back.
 * Only the training rows change; validation and test are copied as they are.
 *
 *   infrec sample --sampler svp-cf-user --budget 10% --dataset ml-1m --out FILE [--seed 42] [--json]
 *     --budget 10%  keeps 10% of the training interactions (a fraction such as 0.1 too);
 *     --budget 500  keeps 500 users (the paper's figures' x axis).
 *     Samplers: interaction-random, user-random, head-user, svp-cf-user. DISTILL-CF
 *     synthesises users that belong to no real user: use `infrec distill` for it.
 *   infrec noise --level 2 --dataset ml-1m --out FILE [--seed 42] [--json]
 *     flips round(level% · items) random items per user in the training rows.
 */
import type { CAC } from "cac";
import type { Dataset } from "../data/dataset.ts";
import { saveSplit } from "../data/split.ts";
import { injectNoise } from "../sampling/noise.ts";
import { formatBudget, isSamplerName, makeSampler, parseBudget, SAMPLER_NAMES } from "../sampling/registry.ts";
import { type Budget, checkBudget, expandSample } from "../sampling/sampler.ts";
import { checkWritable, type DataFlags, loadFromFlags, UsageError, withDataFlags } from "./common.ts";

export interface SampleFlags extends DataFlags {
  sampler?: string;
  budget?: string | number;
  out?: string | boolean;
  json?: boolean;
}

export interface NoiseFlags extends DataFlags {
  level?: string | number;
  out?: string | boolean;
  json?: boolean;
}

export interface SampleReport {
  dataset: string;
  sampler: string;
  budget: string;
  seed: number;
  users: number;
  keptUsers: number;
  trainInteractions: number;
  keptInteractions: number;
  out: string;
  seconds: number;
}

export interface NoiseReport {
  dataset: string;
  level: number;
  seed: number;
  flipsPerUser: number;
  added: number;
  removed: number;
  trainInteractions: number;
  out: string;
}

function outFlag(v: string | boolean | undefined): string {
  if (v === undefined || typeof v === "boolean" || v === "") throw new UsageError("--out FILE is required (where the split is written)");
  checkWritable("--out", String(v));
  return String(v);
}

function seedFlag(v: number | string | undefined): number {
  if (v === undefined) return 42;
  const x = Number(v);
  if (String(v).trim() === "" || !Number.isInteger(x) || x < 0 || x >= 2 ** 32) throw new UsageError(`--seed must be an integer in [0, 2^32), got '${String(v)}'`);
  return x;
}

/** Flags → sampler name, budget, seed and output path; throws UsageError naming the bad flag. */
export function parseSampleFlags(flags: SampleFlags): { sampler: string; budget: Budget; seed: number; out: string } {
  const sampler = flags.sampler;
  if (sampler === undefined || typeof sampler !== "string" || sampler === "") throw new UsageError(`--sampler is required (one of ${SAMPLER_NAMES.join(", ")})`);
  if (!isSamplerName(sampler)) throw new UsageError(`unknown sampler '${sampler}' (known: ${SAMPLER_NAMES.join(", ")})`);
  if (sampler === "distill-cf") throw new UsageError("sampler 'distill-cf' synthesises users that belong to no real user; use `infrec distill --budget N` to write a summary");
  if (flags.budget === undefined || typeof flags.budget === "boolean") throw new UsageError("--budget is required (e.g. 10% of the interactions or 500 users)");
  let budget: Budget;
  try {
    budget = parseBudget(String(flags.budget));
  } catch (e) {
    throw new UsageError(`--budget: ${(e as Error).message}`);
  }
  return { sampler, budget, seed: seedFlag(flags.seed), out: outFlag(flags.out) };
}

/** Runs `infrec sample`: samples the training rows and writes the split. */
export async function sampleCommand(flags: SampleFlags): Promise<SampleReport> {
  const { sampler: name, budget, seed, out } = parseSampleFlags(flags);
  const ds = await loadFromFlags(flags);
  try {
    checkBudget(ds.train, budget);
  } catch (e) {
    throw new UsageError(`--budget: ${(e as Error).message.replace(/^sampler: /, "")} (${ds.name})`);
  }
  const t0 = performance.now();
  const result = await makeSampler(name).sample(ds.train, budget, seed);
  const sampled: Dataset = { ...ds, name: `${ds.name}-${name}-${flags.budget}`, train: expandSample(result, ds.train.numUsers) };
  saveSplit(sampled, out);
  return {
    dataset: ds.name,
    sampler: name,
    budget: formatBudget(budget),
    seed,
    users: ds.train.numUsers,
    keptUsers: result.keptUsers.length,
    trainInteractions: ds.train.nnz,
    keptInteractions: result.keptInteractions,
    out,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Runs `infrec noise`: flips level% of the items per user in the training rows and writes the split. */
export async function noiseCommand(flags: NoiseFlags): Promise<NoiseReport> {
  const v = flags.level;
  if (v === undefined || typeof v === "boolean") throw new UsageError("--level is required (percent of all items flipped per user, e.g. 2)");
  const level = Number(String(v).replace(/%$/, ""));
  if (String(v).trim() === "" || !(Number.isFinite(level) && level >= 0 && level <= 100)) throw new UsageError(`--level must be a percentage in [0, 100], got '${String(v)}'`);
  const seed = seedFlag(flags.seed);
  const out = outFlag(flags.out);
  const ds = await loadFromFlags(flags);
  const noisy = injectNoise(ds.train, level, seed);
  saveSplit({ ...ds, name: `${ds.name}-noise${level}`, train: noisy.train }, out);
  return { dataset: ds.name, level, seed, flipsPerUser: noisy.flipsPerUser, added: noisy.added, removed: noisy.removed, trainInteractions: noisy.train.nnz, out };
}

/** Adds `sample` and `noise` to a cac instance; `print` receives the result lines (default stdout). */
export function registerSampleCommands(cli: CAC, print: (line: string) => void = (line) => console.log(line)): void {
  withDataFlags(cli.command("sample", "Down-sample the training rows with a sampler and save the split"))
    .option("--sampler <name>", `Sampler: ${SAMPLER_NAMES.filter((s) => s !== "distill-cf").join(", ")}`)
    .option("--budget <b>", "What to keep: 10% (of the training interactions), 0.1, or 500 (users)")
    .option("--seed <n>", "Seed of the sampler", { default: 42 })
    .option("--out <file>", "Where to write the split (read back with --data FILE)")
    .action(async (flags: SampleFlags) => {
      const r = await sampleCommand(flags);
      if (flags.json) return print(JSON.stringify(r, null, 2));
      print(
        `${r.sampler} kept ${r.keptUsers} of ${r.users} users and ${r.keptInteractions} of ${r.trainInteractions} training interactions (${r.budget}) → ${r.out}`,
      );
    });
  withDataFlags(cli.command("noise", "Flip a percentage of all items per user in the training rows and save the split"))
    .option("--level <pct>", "Percent of all items flipped (0↔1) per user, e.g. 2")
    .option("--seed <n>", "Seed of the noise", { default: 42 })
    .option("--out <file>", "Where to write the split (read back with --data FILE)")
    .action(async (flags: NoiseFlags) => {
      const r = await noiseCommand(flags);
      if (flags.json) return print(JSON.stringify(r, null, 2));
      print(`${r.level}% noise: ${r.flipsPerUser} flips per user (${r.added} added, ${r.removed} removed) → ${r.out}`);
    });
}
