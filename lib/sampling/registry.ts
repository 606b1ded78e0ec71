/**
 * Sampler names the CLI and the figure scripts accept, and budget parsing.
 */
import type { Dataset } from "../data/dataset.ts";
import type { RunDistillHooks, RunDistillOptions } from "../distill/run.ts";
import { DistillCfSampler } from "./distill-cf.ts";
import { HeadUserSampler, InteractionRandomSampler, UserRandomSampler } from "./heuristic.ts";
import type { Budget, Sampler } from "./sampler.ts";
import { type ProxyOptions, SvpCfUserSampler } from "./svp-cf.ts";

export const SAMPLER_NAMES = ["interaction-random", "user-random", "head-user", "svp-cf-user", "distill-cf"] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** Display names used in figure legends (the paper's). */
export const SAMPLER_LABELS: Record<SamplerName, string> = {
  "interaction-random": "Interaction RNS",
  "user-random": "User RNS",
  "head-user": "Head user",
  "svp-cf-user": "SVP-CF user",
  "distill-cf": "DISTILL-CF",
};

export interface SamplerOptions {
  /** Needed by distill-cf (it validates on real users). */
  dataset?: Dataset;
  distill?: Partial<Omit<RunDistillOptions, "mu" | "seed">>;
  distillHooks?: RunDistillHooks;
  /** Folder where distill-cf keeps its summaries for reuse (see DistillCfSampler). */
  distillCache?: string;
  proxy?: Partial<ProxyOptions>;
}

export function isSamplerName(name: string): name is SamplerName {
  return (SAMPLER_NAMES as readonly string[]).includes(name);
}

export function makeSampler(name: string, options: SamplerOptions = {}): Sampler {
  if (!isSamplerName(name)) throw new Error(`unknown sampler '${name}' (known: ${SAMPLER_NAMES.join(", ")})`);
  switch (name) {
    case "interaction-random":
      return new InteractionRandomSampler();
    case "user-random":
      return new UserRandomSampler();
    case "head-user":
      return new HeadUserSampler();
    case "svp-cf-user":
      return new SvpCfUserSampler(options.proxy);
    case "distill-cf":
      if (!options.dataset) throw new Error("sampler 'distill-cf' needs the dataset (it validates on real users)");
      return new DistillCfSampler(options.dataset, options.distill, options.distillHooks, options.distillCache ?? null);
  }
}

/**
 * Parses a budget as written on the command line: "10%" keeps 10% of the
 * training interactions, "0.1" (a fraction below 1) the same, and a whole
 * number ≥ 1 ("500") keeps that many users.
 */
export function parseBudget(text: string): Budget {
  const s = text.trim();
  const percent = /^(\d+(?:\.\d+)?|\.\d+)%$/.exec(s);
  if (percent) {
    const p = Number(percent[1]);
    if (!(p > 0 && p <= 100)) throw new Error(`budget '${text}' must be a percentage in (0, 100]`);
    return { interactions: p / 100 };
  }
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1) throw new Error(`budget '${text}' must keep at least one user`);
    return { users: n };
  }
  if (/^(0?\.\d+)$/.test(s)) {
    const f = Number(s);
    if (f > 0) return { interactions: f };
  }
  throw new Error(`bad budget '${text}' (expected a percentage of interactions such as 10%, a fraction such as 0.1, or a number of users such as 500)`);
}

export function formatBudget(budget: Budget): string {
  return "users" in budget ? `${budget.users} users` : `${+(budget.interactions * 100).toPrecision(6)}% of interactions`;
}
