/**
 * `infrec fit`: fit a model (λ picked on validation unless given), report the
 * test metrics and save the model (∞-AE, EASE, PopRec) for `recommend` and
 * `evaluate --model FILE`. `--on all` refits the chosen hyper-parameters on
 * train + validation + test for deployment.
 */
import type { CAC } from "cac";
import { type Dataset, datasetStats } from "../data/dataset.ts";
import type { InteractionMatrix } from "../data/matrix.ts";
import { artifactOf, encodeArtifact, hasSavedForm, SAVED_FORMS } from "../models/artifact.ts";
import { writeFileAtomic } from "../models/artifact-file.ts";
import type { Recommender } from "../models/model.ts";
import { MODELS, modelEntry, type ModelParams } from "../models/registry.ts";
import { tuneModel } from "../tuning/tune.ts";
import { checkOnnxDevice, checkWritable, type DataFlags, loadFromFlags, parseDevice, parseEngine, UsageError, withDataFlags } from "./common.ts";
import { registerRecommendCommand } from "./recommend.ts";
import { formatSeconds, Progress } from "../util/terminal.ts";
import { loadTrainingMatrix } from "./train-on.ts";
import { type EvalFlags, metricsTable, parseEvalFlags, tuneEvalOptions, resolveGrid, shownMetrics, startRun, withEvalFlags, writePerUserFile } from "./eval-options.ts";

interface FitFlags extends DataFlags, EvalFlags {
  model: string;
  out?: string;
  on?: string;
  lambda?: string | number;
  depth?: string | number;
  support?: string | number;
  trainOn?: string;
  float16?: boolean;
  device?: string;
  engine?: string;
  json?: boolean;
}

function positiveNumber(flag: string, v: string | number | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || (integer && !Number.isInteger(x))) {
    throw new UsageError(`${flag} must be a ${integer ? "non-negative integer" : "non-negative number"}, got '${v}'`);
  }
  return x;
}

/** Every interaction of the dataset (train + validation + test), what `--on all` fits on and what recommend excludes. */
export function allInteractions(ds: Dataset): InteractionMatrix {
  return ds.train.add(ds.validation).add(ds.test);
}

export function registerFitCommands(cli: CAC): void {
  withEvalFlags(withDataFlags(cli.command("fit", "Fit a model (λ by validation HR@100 unless --lambda), report test metrics, save it with --out")))
    .option("--model <name>", `Model: ${Object.keys(MODELS).join(", ")}`, { default: "inf-ae" })
    .option("--out <file>", "Save the fitted model (inf-ae, ease and its relatives, pop) with the dataset's users and their items, for recommend and evaluate --model FILE")
    .option("--on <rows>", "train: fit on the train split (test metrics reported); all: pick hyper-parameters on validation as with train (or take --lambda as given), then refit on train + validation + test for deployment (no test metrics for the refit model)", { default: "train" })
    .option("--lambda <λ>", "Fix λ instead of searching the grid")
    .option("--depth <n>", "∞-AE hidden layers", { default: 1 })
    .option("--support <n>", "∞-AE: a random budget of support users (default: all)")
    .option("--train-on <file>", "Fit on a DISTILL-CF summary (or any saved matrix) and evaluate on the dataset's real users")
    .option("--float16", "Store ∞-AE's α or EASE's item weights as float16 (half the size)")
    .option("--device <device>", "cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--engine <engine>", "∞-AE/EASE float32 fit: auto (device-resident on webgpu/cuda), host or device", { default: "auto" })
    .action(async (flags: FitFlags) => {
      const device = parseDevice(flags.device);
      checkOnnxDevice(String(flags.model), device);
      const engine = parseEngine(flags.engine);
      let entry;
      try {
        entry = modelEntry(String(flags.model));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const on = String(flags.on ?? "train");
      if (on !== "train" && on !== "all") throw new UsageError(`--on must be 'train' or 'all', got '${on}'`);
      if (on === "all" && flags.trainOn !== undefined) throw new UsageError("--on all refits on the dataset's own interactions; it cannot be combined with --train-on");
      const lambda = positiveNumber("--lambda", flags.lambda);
      const depth = positiveNumber("--depth", flags.depth, true) ?? 1;
      if (depth < 1) throw new UsageError("--depth must be at least 1");
      const support = positiveNumber("--support", flags.support, true);
      const settings = parseEvalFlags(flags);
      if (lambda !== undefined && settings.gridSpec?.some((g) => g.key === "lambda")) throw new UsageError("give --lambda (one fixed λ) or --lambdas (candidates), not both");
      if (settings.perUser !== undefined && on === "all" && lambda !== undefined) throw new UsageError("--per-user: --on all with a fixed --lambda evaluates nothing on test");
      // Found out now, not after a long fit.
      if (flags.out !== undefined) checkWritable("--out", String(flags.out));
      const t0 = Date.now();
      const run = startRun(settings, "fit", flags);
      const ds = await loadFromFlags({ ...flags, seed: settings.seed });
      let train: InteractionMatrix = ds.train;
      let trainedOn = "train split";
      let summary = false;
      if (flags.trainOn !== undefined) {
        const loaded = await loadTrainingMatrix(String(flags.trainOn), ds);
        train = loaded.matrix;
        trainedOn = String(flags.trainOn);
        summary = loaded.summary;
      }
      let grid: ModelParams[] = entry.gridFor(ds, { summary });
      if (support !== undefined && support > train.numUsers) {
        throw new UsageError(`--support ${support} exceeds the ${train.numUsers} users of the training matrix`);
      }
      if (flags.model === "inf-ae") grid = grid.map((p) => ({ ...p, depth, ...(support ? { support } : {}) }));
      if (lambda !== undefined) grid = [{ ...grid[0], lambda }];
      // Before any fit: a model without a saved form cannot honour --out.
      if (flags.out !== undefined && !hasSavedForm(entry.build(grid[0]))) throw new UsageError(`--out: model '${flags.model}' has no saved form (${SAVED_FORMS})`);
      grid = resolveGrid(String(flags.model), entry, grid, settings.gridSpec) ?? grid;
      run?.resolve({ grid, trainOn: flags.trainOn ?? null });
      const progress = new Progress(`fit ${flags.model}`, !flags.json || run !== null);
      // With --on all and a fixed λ nothing is chosen, so nothing is fitted on train alone.
      const tune = on === "train" || lambda === undefined;
      const result = tune
        ? await tuneModel(ds, String(flags.model), {
          grid,
          build: { device, engine },
          test: true,
          keepBest: on === "train" && flags.out !== undefined,
          train,
          ...tuneEvalOptions(settings),
          onPoint: (p, i, n) => progress.update((i + 1) / (n + 1 + (on === "all" ? 1 : 0)), `λ ${JSON.stringify(p.params)} val HR@100 ${p.validation.metrics["HR@100"].toFixed(2)}`),
          onSkip: (s) => !flags.json && process.stderr.write(`\nskipped ${JSON.stringify(s.params)}: ${s.reason}\n`),
        })
        : undefined;
      let model: Recommender | undefined = result?.model as Recommender | undefined;
      let hyperParameters = result?.hyperParameters;
      if (on === "all") {
        train = allInteractions(ds);
        trainedOn = "all (train + validation + test)";
        progress.update(tune ? 0.9 : 0.1, "refit on train + validation + test");
        model = entry.build(result ? result.best.params : grid[0], { device, engine });
        await model.fit(train, { seed: settings.seed });
        hyperParameters = model.hyperParameters();
      }
      progress.done();
      let artifact: { path: string; bytes: number } | undefined;
      if (flags.out !== undefined) {
        if (!model) throw new Error("fit --out: no fitted model to save");
        const saved = await artifactOf(model, {
          itemIds: [...ds.itemIds],
          // Users are identified by id in recommend; their items are everything the dataset knows of them.
          users: { ids: [...ds.userIds], seen: on === "all" ? train : allInteractions(ds) },
          trainUserIds: train === ds.train || on === "all" ? ds.userIds : undefined,
          dataset: { ...datasetStats(ds), trainedOn },
          half: flags.float16 === true,
        });
        const bytes = encodeArtifact(saved);
        writeFileAtomic(String(flags.out), bytes);
        artifact = { path: String(flags.out), bytes: bytes.length };
      }
      await model?.dispose?.();
      const out = {
        dataset: ds.name,
        model: flags.model,
        trainedOn,
        hyperParameters,
        selectedBy: lambda === undefined ? `validation ${result!.metric}` : "fixed",
        validation: result && shownMetrics(result.best.validation.metrics, settings.shown),
        // With --on all these are the chosen setting's metrics when fitted on train only, before the refit.
        test: result?.test && shownMetrics(result.test.metrics, settings.shown),
        skipped: result?.skipped ?? [],
        artifact,
        seed: settings.seed,
        seconds: (Date.now() - t0) / 1000,
      };
      if (settings.perUser !== undefined) writePerUserFile(settings.perUser, result?.test?.perUser, ds.userIds, settings.shown);
      run?.finish(out);
      if (flags.json) return console.log(JSON.stringify(out, null, 2));
      console.log(`${out.model} on ${out.dataset} (trained on ${trainedOn}, ${formatSeconds(out.seconds)})`);
      console.log(`hyper-parameters: ${JSON.stringify(out.hyperParameters)} (${out.selectedBy})`);
      if (out.test) {
        if (on === "all") console.log("test metrics of this setting fitted on the train split (before the refit on everything):");
        console.log(metricsTable(out.test));
      } else console.log("no test metrics: the model was fitted on the test interactions too");
      if (artifact) console.log(`wrote ${artifact.path} (${(artifact.bytes / 1e6).toFixed(1)} MB)`);
    });

  registerRecommendCommand(cli);
}
