/**
 * `infrec fit`: fit a model (λ picked on validation unless given), report the
 * test metrics and, for ∞-AE, save the duals artifact. `infrec recommend`:
 * top-k for a new user from a saved artifact, without refitting.
 */
import type { CAC } from "cac";
import { existsSync, statSync } from "node:fs";
import { datasetStats } from "../data/dataset.ts";
import type { InteractionMatrix } from "../data/matrix.ts";
import { encodeDuals } from "../models/infinite-ae/artifact.ts";
import { readDualsFile, writeFileAtomic } from "../models/infinite-ae/artifact-file.ts";
import { DualsScorer } from "../models/infinite-ae/duals-scorer.ts";
import { MODELS, modelEntry, type ModelParams } from "../models/registry.ts";
import { tuneModel } from "../tuning/tune.ts";
import { InfiniteAE } from "../models/infinite-ae/model.ts";
import { getBackend } from "../onnx/backend.ts";
import { checkOnnxDevice, checkWritable, type DataFlags, loadFromFlags, parseDevice, parseEngine, rawOption, UsageError, withDataFlags } from "./common.ts";
import { formatSeconds, Progress, table } from "../util/terminal.ts";
import { loadTrainingMatrix } from "./train-on.ts";

interface FitFlags extends DataFlags {
  model: string;
  out?: string;
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

export function registerFitCommands(cli: CAC): void {
  withDataFlags(cli.command("fit", "Fit a model (λ by validation HR@100 unless --lambda), report test metrics, save ∞-AE duals"))
    .option("--model <name>", `Model: ${Object.keys(MODELS).join(", ")}`, { default: "inf-ae" })
    .option("--out <file>", "Write the ∞-AE artifact (support rows, duals α, λ, item ids) here")
    .option("--lambda <λ>", "Fix λ instead of searching the grid")
    .option("--depth <n>", "∞-AE hidden layers", { default: 1 })
    .option("--support <n>", "∞-AE: a random budget of support users (default: all)")
    .option("--train-on <file>", "Fit on a DISTILL-CF summary (or any saved matrix) and evaluate on the dataset's real users")
    .option("--float16", "Store α as float16 (half the size)")
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
      if (flags.out !== undefined && flags.model !== "inf-ae") throw new UsageError(`--out saves ∞-AE duals; model '${flags.model}' has no artifact`);
      const lambda = positiveNumber("--lambda", flags.lambda);
      const depth = positiveNumber("--depth", flags.depth, true) ?? 1;
      if (depth < 1) throw new UsageError("--depth must be at least 1");
      const support = positiveNumber("--support", flags.support, true);
      // Found out now, not after a long fit.
      if (flags.out !== undefined) checkWritable("--out", String(flags.out));
      const t0 = Date.now();
      const ds = await loadFromFlags(flags);
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
      const progress = new Progress(`fit ${flags.model}`, !flags.json);
      const result = await tuneModel(ds, String(flags.model), {
        grid,
        build: { device, engine },
        test: true,
        keepBest: true,
        train,
        onPoint: (p, i, n) => progress.update((i + 1) / (n + 1), `λ ${JSON.stringify(p.params)} val HR@100 ${p.validation.metrics["HR@100"].toFixed(2)}`),
        onSkip: (s) => !flags.json && process.stderr.write(`\nskipped ${JSON.stringify(s.params)}: ${s.reason}\n`),
      });
      progress.done();
      let artifact: { path: string; bytes: number } | undefined;
      if (flags.out !== undefined) {
        const model = result.model;
        if (!(model instanceof InfiniteAE)) throw new Error(`fit --out: the fitted model is ${model?.name}, not inf-ae`);
        const bytes = encodeDuals(
          await model.toArtifact({ itemIds: ds.itemIds, userIds: train === ds.train ? ds.userIds : undefined, dataset: { ...datasetStats(ds), trainedOn } }),
          flags.float16 ? "float16" : "float32",
        );
        writeFileAtomic(String(flags.out), bytes);
        artifact = { path: String(flags.out), bytes: bytes.length };
      }
      await result.model?.dispose?.();
      const out = {
        dataset: ds.name,
        model: flags.model,
        trainedOn,
        hyperParameters: result.hyperParameters,
        selectedBy: lambda === undefined ? `validation ${result.metric}` : "fixed",
        validation: result.best.validation.metrics,
        test: result.test!.metrics,
        skipped: result.skipped,
        artifact,
        seconds: (Date.now() - t0) / 1000,
      };
      if (flags.json) return console.log(JSON.stringify(out, null, 2));
      console.log(`${out.model} on ${out.dataset} (trained on ${trainedOn}, ${formatSeconds(out.seconds)})`);
      console.log(`hyper-parameters: ${JSON.stringify(out.hyperParameters)} (${out.selectedBy})`);
      console.log(table([["metric", "test"], ...Object.entries(out.test).map(([k, v]) => [k, v])]));
      if (artifact) console.log(`wrote ${artifact.path} (${(artifact.bytes / 1e6).toFixed(1)} MB)`);
    });

  cli.command("recommend", "Top-k items for a new user from a saved ∞-AE artifact")
    .option("--model <file>", "Artifact written by infrec fit --out")
    .option("--items <ids>", "The user's items: comma-separated original item ids")
    .option("-k, --k <k>", "How many items", { default: 10 })
    .option("--device <device>", "cpu, wasm, cuda, webgpu or auto", { default: "cpu" })
    .option("--json", "Print JSON")
    .action(async (flags: { model?: string; items?: string | number; k: string | number; device?: string; json?: boolean }) => {
      if (flags.model === undefined) throw new UsageError("name the artifact with --model FILE");
      // Item ids are strings end to end: cac would read "00088" as 88 and "" as 0.
      const rawItems = rawOption("items") ?? (flags.items === undefined ? undefined : String(flags.items));
      if (rawItems === undefined || rawItems.trim() === "") throw new UsageError("give the user's items with --items ID,ID,…");
      const k = Number(flags.k);
      if (!Number.isInteger(k) || k < 1) throw new UsageError(`-k must be a positive integer, got '${flags.k}'`);
      const ids = rawItems.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
      const modelPath = String(flags.model);
      if (existsSync(modelPath) && statSync(modelPath).isDirectory()) throw new UsageError(`--model ${modelPath} is a folder, not an artifact file`);
      const artifact = readDualsFile(modelPath);
      const scorer = new DualsScorer(artifact, await getBackend({ device: parseDevice(flags.device) }));
      const [rec] = await scorer.recommend([ids], k);
      if (rec.unknown.length === ids.length) throw new UsageError(`none of the items is known to the model: ${rec.unknown.join(", ")}`);
      if (flags.json) return console.log(JSON.stringify({ items: rec.items, unknown: rec.unknown }, null, 2));
      if (rec.unknown.length) console.error(`infrec: ignoring unknown item ids: ${rec.unknown.join(", ")}`);
      console.log(table([["rank", "item", "score"], ...rec.items.map((r, i) => [i + 1, r.item, r.score])]));
    });
}
