#!/usr/bin/env node
/**
 * The infrec command line. Each command validates its flags and fails with a
 * one-line message and a non-zero exit code on bad input.
 */
import { cac } from "cac";
import { type Dataset, datasetStats } from "../data/dataset.ts";
import { listDatasets, loadDataset } from "../data/registry.ts";
import { evaluate, type EvalSplit } from "../eval/evaluate.ts";
import { modelEntry, MODELS } from "../models/registry.ts";
import { tuneModel } from "../tuning/tune.ts";
import { sharedBackendStats, type TransferStats } from "../onnx/backend.ts";
import { checkOnnxDevice, duplicatesPolicy, loadFromFlags, parseDevice, parseEngine, rejectNegativeValues, setRawArgv, UsageError, withDataFlags, type DataFlags } from "./common.ts";
import { registerDistillCommand } from "./distill.ts";
import { registerFitCommands } from "./fit.ts";
import { evaluateSavedModel, isArtifactPath } from "./recommend.ts";
import { registerSampleCommands } from "./sample.ts";
import { formatSeconds, Progress, table } from "../util/terminal.ts";

/** ORT runs and megabytes moved between two snapshots (what the protocol cost in calls and transfers). */
function onnxTraffic(before: TransferStats, after: TransferStats): { runs: number; hostToDeviceMB: number; deviceToHostMB: number } {
  const mb = (b: number) => Math.round(b / 1e5) / 10;
  return {
    runs: after.runs - before.runs,
    hostToDeviceMB: mb(after.hostToDeviceBytes - before.hostToDeviceBytes),
    deviceToHostMB: mb(after.deviceToHostBytes - before.deviceToHostBytes),
  };
}

export function buildCli() {
  const cli = cac("infrec");

  withDataFlags(cli.command("datasets", "Show users, items, interactions, density and split sizes")).action(
    async (flags: DataFlags & { json?: boolean }) => {
      let sets: Dataset[];
      if (flags.dataset !== undefined || flags.data !== undefined) sets = [await loadFromFlags(flags)];
      else {
        const found = await listDatasets(flags.dataDir);
        if (found.length === 0) throw new UsageError("no datasets found; pass --dataset NAME with --data-dir DIR");
        sets = [];
        for (const f of found) sets.push(await loadDataset(f.name, { dataDir: flags.dataDir, duplicates: duplicatesPolicy(flags.duplicates) }));
      }
      const stats = sets.map(datasetStats);
      if (flags.json) return console.log(JSON.stringify(stats.length === 1 ? stats[0] : stats, null, 2));
      console.log(
        table([
          ["dataset", "users", "items", "interactions", "density", "train", "validation", "test"],
          ...stats.map((s) => [s.name, s.users, s.items, s.interactions, s.density.toFixed(5), s.train, s.validation, s.test]),
        ]),
      );
    },
  );

  withDataFlags(cli.command("evaluate", "Fit a model, pick hyper-parameters on validation, report the protocol's metrics"))
    .option("--model <name>", `Model: ${Object.keys(MODELS).join(", ")}, or a file saved by fit --out (evaluated as saved, no fitting)`, { default: "pop" })
    .option("--split <split>", "val (validation) or test", { default: "test" })
    .option("--metric <name>", "Validation metric that picks hyper-parameters", { default: "HR@100" })
    .option("--psp <norm>", "PSP normalisation: official or textbook", { default: "official" })
    .option("--ties <rule>", "Equal scores: index (lower item index first) or random (a seeded random item order)", { default: "index" })
    .option("--device <device>", "ONNX Runtime device: cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--engine <engine>", "∞-AE float32 fit: auto (device-resident on webgpu/cuda), host or device", { default: "auto" })
    .option("--seed <n>", "Seed for AUC negatives and model randomness", { default: 42 })
    .action(async (flags: DataFlags & { model: string; split: string; metric: string; psp: string; ties: string; seed: number; device: string; engine: string; json?: boolean }) => {
      const split: EvalSplit = flags.split === "val" || flags.split === "validation" ? "validation" : flags.split === "test" ? "test" : (() => {
        throw new UsageError(`--split must be 'val' or 'test', got '${flags.split}'`);
      })();
      if (flags.psp !== "official" && flags.psp !== "textbook") throw new UsageError(`--psp must be 'official' or 'textbook', got '${flags.psp}'`);
      if (flags.ties !== "index" && flags.ties !== "random") throw new UsageError(`--ties must be 'index' or 'random', got '${flags.ties}'`);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${flags.seed}'`);
      if (isArtifactPath(String(flags.model), Object.keys(MODELS))) {
        const psp = flags.psp === "textbook" ? ("textbook" as const) : ("official" as const);
        const options = { split, psp, ties: flags.ties === "random" ? ("random" as const) : ("index" as const), seed, device: flags.device, json: flags.json };
        return evaluateSavedModel(String(flags.model), flags, options);
      }
      let entry;
      try {
        entry = modelEntry(String(flags.model));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const t0 = Date.now();
      const ds = await loadFromFlags(flags);
      const progress = new Progress(`evaluate ${flags.model}`, !flags.json);
      const device = parseDevice(flags.device);
      checkOnnxDevice(String(flags.model), device);
      const engine = parseEngine(flags.engine);
      const before = await sharedBackendStats();
      const result = await tuneModel(ds, String(flags.model), {
        build: { device, engine },
        metric: flags.metric,
        test: split === "test",
        seed,
        psp: flags.psp,
        ties: flags.ties,
        tieSeed: seed,
        onPoint: (p, i, n) => progress.update((i + 1) / (n + (split === "test" ? 1 : 0)), `params ${JSON.stringify(p.params)}`),
      });
      progress.done();
      const chosen = split === "test" ? result.test! : result.best.validation;
      const out = {
        dataset: ds.name,
        model: flags.model,
        split,
        hyperParameters: result.hyperParameters,
        selectedBy: `validation ${result.metric}`,
        metrics: chosen.metrics,
        users: chosen.users,
        seconds: (Date.now() - t0) / 1000,
        onnx: onnxTraffic(before, await sharedBackendStats()),
      };
      if (flags.json) return console.log(JSON.stringify(out, null, 2));
      console.log(`${out.model} on ${out.dataset} (${split}, ${out.users} users, ${formatSeconds(out.seconds)})`);
      if (Object.keys(out.hyperParameters).length) console.log(`hyper-parameters: ${JSON.stringify(out.hyperParameters)} (by ${out.selectedBy})`);
      console.log(table([["metric", "value"], ...Object.entries(chosen.metrics).map(([k, v]) => [k, v])]));
    });

  registerFitCommands(cli);
  registerSampleCommands(cli);
  registerDistillCommand(cli);

  cli.help();
  cli.version("0.1.0");
  return cli;
}

/** Runs the CLI; returns the exit code instead of exiting, for tests. */
export async function runCli(argv: string[]): Promise<number> {
  const cli = buildCli();
  try {
    rejectNegativeValues(argv);
    setRawArgv(argv);
    cli.parse(["node", "infrec", ...argv], { run: false });
    if (!cli.matchedCommand) {
      if (cli.options.help || cli.options.version) return 0;
      if (cli.args.length > 0) throw new UsageError(`unknown command '${cli.args[0]}' (see infrec --help)`);
      cli.outputHelp();
      return 0;
    }
    if (cli.options.help) return 0;
    await cli.runMatchedCommand();
    return 0;
  } catch (e) {
    const err = e as Error;
    const usage = err instanceof UsageError || err.name === "CACError";
    console.error(`infrec: ${err.message}`);
    if (process.env.INFREC_DEBUG) console.error(err.stack);
    return usage ? 2 : 1;
  }
}

const isMain = (() => {
  try {
    const argv1 = process.argv[1] ?? "";
    return /(^|[\\/])lib[\\/]cli[\\/]main\.ts$/.test(argv1);
  } catch {
    return false;
  }
})();

if (isMain) {
  process.exitCode = await runCli(process.argv.slice(2));
}
