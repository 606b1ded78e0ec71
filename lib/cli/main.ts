#!/usr/bin/env node
/**
 * The infrec command line. Each command validates its flags and fails with a
 * one-line message and a non-zero exit code on bad input.
 */
import { cac } from "cac";
import { type Dataset, datasetStats } from "../data/dataset.ts";
import { listDatasets, loadDataset } from "../data/registry.ts";
import type { EvalSplit } from "../eval/evaluate.ts";
import { modelEntry, MODELS } from "../models/registry.ts";
import { tuneModel } from "../tuning/tune.ts";
import { sharedBackendStats, type TransferStats } from "../onnx/backend.ts";
import { checkOnnxDevice, duplicatesPolicy, loadFromFlags, parseDevice, parseEngine, rejectNegativeValues, setRawArgv, UsageError, withDataFlags, type DataFlags } from "./common.ts";
import { registerDistillCommand } from "./distill.ts";
import { checkSelectionMetric, type EvalFlags, failActiveRun, tuneEvalOptions, flagsNotForSavedModels, metricsTable, parseEvalFlags, parseSeedFlag, resolveGrid, shownMetrics, startRun, withEvalFlags, writePerUserFile } from "./eval-options.ts";
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

  withDataFlags(cli.command("datasets", "Show users, items, interactions, density and split sizes"))
    .option("--seed <n>", "Seed of the --data split", { default: 42 })
    .action(async (flags: DataFlags & { json?: boolean }) => {
      let sets: Dataset[];
      if (flags.dataset !== undefined || flags.data !== undefined) sets = [await loadFromFlags({ ...flags, seed: parseSeedFlag(flags.seed) })];
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
    });

  withEvalFlags(withDataFlags(cli.command("evaluate", "Fit a model, pick hyper-parameters on validation, report the protocol's metrics"))
    .option("--model <name>", `Model: ${Object.keys(MODELS).join(", ")}, or a file saved by fit --out (evaluated as saved, no fitting)`, { default: "pop" })
    .option("--split <split>", "val (validation) or test", { default: "test" })
    .option("--metric <name>", "Validation metric that picks hyper-parameters", { default: "HR@100" })
    .option("--device <device>", "ONNX Runtime device: cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--engine <engine>", "∞-AE float32 fit: auto (device-resident on webgpu/cuda), host or device", { default: "auto" }))
    .action(async (flags: DataFlags & EvalFlags & { model: string; split: string; metric: string; device: string; engine: string; json?: boolean }) => {
      const split: EvalSplit = flags.split === "val" || flags.split === "validation" ? "validation" : flags.split === "test" ? "test" : (() => {
        throw new UsageError(`--split must be 'val' or 'test', got '${flags.split}'`);
      })();
      const settings = parseEvalFlags(flags);
      if (isArtifactPath(String(flags.model), Object.keys(MODELS))) {
        const notForSaved = flagsNotForSavedModels(settings);
        if (notForSaved.length) throw new UsageError(`${notForSaved.join(", ")}: not available with a saved model (--model FILE is evaluated as saved)`);
        const options = { split, psp: settings.psp, ties: settings.ties, seed: settings.seed, device: flags.device, json: flags.json };
        return evaluateSavedModel(String(flags.model), { ...flags, seed: settings.seed }, options);
      }
      const metric = checkSelectionMetric(flags.metric);
      let entry;
      try {
        entry = modelEntry(String(flags.model));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const device = parseDevice(flags.device);
      checkOnnxDevice(String(flags.model), device);
      const engine = parseEngine(flags.engine);
      const t0 = Date.now();
      const run = startRun(settings, "evaluate", flags);
      const ds = await loadFromFlags({ ...flags, seed: settings.seed });
      const grid = resolveGrid(String(flags.model), entry, entry.gridFor(ds), settings.gridSpec) ?? undefined;
      run?.resolve({ split, metric, grid: grid ?? entry.gridFor(ds) });
      const progress = new Progress(`evaluate ${flags.model}`, !flags.json || run !== null);
      const before = await sharedBackendStats();
      const result = await tuneModel(ds, String(flags.model), {
        grid,
        build: { device, engine },
        metric,
        test: split === "test",
        ...tuneEvalOptions(settings),
        onPoint: (p, i, n) => progress.update((i + 1) / (n + (split === "test" ? 1 : 0)), `params ${JSON.stringify(p.params)}`),
      });
      progress.done();
      const chosen = split === "test" ? result.test! : result.best.validation;
      if (settings.perUser !== undefined) writePerUserFile(settings.perUser, chosen.perUser, ds.userIds, settings.shown);
      const out = {
        dataset: ds.name,
        model: flags.model,
        split,
        hyperParameters: result.hyperParameters,
        selectedBy: `validation ${result.metric}`,
        metrics: shownMetrics(chosen.metrics, settings.shown),
        users: chosen.users,
        usersWithTargets: chosen.usersWithTargets,
        seed: settings.seed,
        seconds: (Date.now() - t0) / 1000,
        onnx: onnxTraffic(before, await sharedBackendStats()),
      };
      run?.finish(out);
      if (flags.json) return console.log(JSON.stringify(out, null, 2));
      console.log(`${out.model} on ${out.dataset} (${split}, ${out.users} users, ${formatSeconds(out.seconds)})`);
      if (Object.keys(out.hyperParameters).length) console.log(`hyper-parameters: ${JSON.stringify(out.hyperParameters)} (by ${out.selectedBy})`);
      console.log(metricsTable(out.metrics));
      if (settings.perUser !== undefined) console.log(`wrote ${settings.perUser} (${out.usersWithTargets} users with targets)`);
      if (settings.runDir !== undefined) console.log(`saved config.json, log.txt and results.json in ${settings.runDir}`);
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
    failActiveRun(err);
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
