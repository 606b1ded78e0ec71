/**
 * Seconds per DISTILL-CF outer step (fast path, lib/distill/fast-step.ts) and
 * peak RSS, at ML-1M size by default: μ = 500, γ = 200, batch = all users.
 *
 *   node --import tsx bench/distill.ts [--data ml-1m] [--mu 500] [--gamma 200]
 *        [--steps 3] [--tau 10] [--batch-block 2048] [--threads 2] [--workers 2] [--store-noise-mb MB]
 *        [--device cpu|webgpu|cuda|wasm|auto] [--sampling workers|device] [--chunk-mb MB]
 *        [--inner-precision float64|float32] [--batch N [--users U]] [--json]
 *
 * Prints each step's split: sampling (forward), Gram (K_SS and K_BS dots and
 * NTK values), solve (α and its backward), loss (P = K_BS·α and the softmax
 * loss), backward (score and Gram backward), sampling backward; then the mean
 * over steps after the first and the peak RSS (process.resourceUsage().maxRSS).
 * `--batch N` draws N real users per step (seeded, as `infrec distill --batch`)
 * from the first U users (`--users`, default all) instead of taking all of
 * them; `rssBeforeStepsMb` then shows what the data costs, so that the steps'
 * own memory can be compared across U.
 * `--sampling device` runs the Gumbel sampling as graphs on the backend's
 * device (lib/distill/device-sample.ts), chunks of at most --chunk-mb of noise.
 */
import { loadDataset } from "../lib/data/registry.ts";
import { DEFAULT_STORE_NOISE_BYTES, denseBatch, FastDistillEngine } from "../lib/distill/fast-step.ts";
import { sampleWithoutReplacement, STREAM_BATCH, STREAM_INIT_USERS } from "../lib/distill/rng.ts";
import { type DeviceRequest, getBackend } from "../lib/onnx/backend.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const dataName = arg("data", "ml-1m");
const mu = Number(arg("mu", "500"));
const gamma = Number(arg("gamma", "200"));
const steps = Number(arg("steps", "3"));
const tau = Number(arg("tau", "10"));
const batchBlock = Number(arg("batch-block", "2048"));
const threads = Number(arg("threads", "2"));
const workers = Number(arg("workers", "2"));
// Noise kept for the backward up to this many MB (default: the engine's; 0 = regenerate, memory O(μ·I)).
const storeNoiseMb = Number(arg("store-noise-mb", String(DEFAULT_STORE_NOISE_BYTES / 2 ** 20)));
const device = arg("device", "cpu") as DeviceRequest;
const sampling = arg("sampling", "workers");
if (sampling !== "workers" && sampling !== "device") throw new Error(`bench: --sampling must be workers or device, got ${sampling}`);
const chunkMb = Number(arg("chunk-mb", "128"));
const innerPrecision = arg("inner-precision", "float32");
if (innerPrecision !== "float64" && innerPrecision !== "float32") throw new Error(`bench: --inner-precision must be float64 or float32, got ${innerPrecision}`);
const json = process.argv.includes("--json");
const say = (line: string): void => {
  if (!json) console.log(line);
};

const ds = await loadDataset(dataName);
const train = ds.train;
const items = train.numItems;
const be = await getBackend({ device, threads });
const batchArg = arg("batch", "");
const batchSize = batchArg === "" ? null : Number(batchArg);
const pool = Number(arg("users", String(train.numUsers)));
if (!Number.isInteger(pool) || pool < 1 || pool > train.numUsers) throw new Error(`bench: --users must be an integer in [1, ${train.numUsers}], got ${pool}`);
if (batchSize !== null && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > pool)) throw new Error(`bench: --batch must be an integer in [1, --users], got ${batchArg}`);
const engine = new FastDistillEngine(be, { samplingWorkers: workers, storeNoiseBytes: storeNoiseMb * 2 ** 20, sampling, deviceChunkEntries: Math.floor((chunkMb * 2 ** 20) / 4), innerPrecision });
const noiseMode = engine.deviceSampler
  ? `sampling on the device, ${engine.deviceSampler.chunkSamples(mu, items, gamma)} samples per chunk, noise ${engine.deviceSampler.storesNoise(mu, items, gamma) ? "stored" : "drawn again"}`
  : `sampling workers ${workers}, noise ${engine.sampling.storesNoise(mu, items, gamma) ? "stored" : "regenerated"}`;
say(`${be.message}; ${dataName}: ${train.numUsers} users × ${items} items; μ=${mu}, γ=${gamma}, τ=${tau}, batch = ${batchSize === null ? "all users" : `${batchSize} of the first ${pool} users per step`}, block ${batchBlock}, ${noiseMode}`);
const init = sampleWithoutReplacement(42, STREAM_INIT_USERS, 0, train.numUsers, mu);
const logits = new Float64Array(mu * items);
for (let r = 0; r < mu; r++) for (const i of train.rowItems(init[r])) logits[r * items + i] = 1;
/** The binary rows of `users` (all users when null). */
function binaryRows(users: Int32Array | null): ReturnType<typeof denseBatch> {
  const xb = users ? train.denseRowsOf(users) : train.denseRows(0, train.numUsers);
  for (let p = 0; p < xb.length; p++) if (xb[p] !== 0) xb[p] = 1;
  return denseBatch(xb, users ? users.length : train.numUsers, items);
}
const fullBatch = batchSize === null ? binaryRows(null) : null;
const batchOf = (step: number) => fullBatch ?? binaryRows(sampleWithoutReplacement(42, STREAM_BATCH, step, pool, batchSize!));
const rssBeforeStepsMb = process.memoryUsage().rss / 2 ** 20;
const keys = ["sampling", "batch", "gram", "solve", "loss", "backward", "samplingBackward"] as const;
const sums: Record<string, number> = {};
let totalSum = 0;
const perStep: Record<string, number>[] = [];
for (let s = 1; s <= steps; s++) {
  const before = { ...be.stats };
  const t0 = performance.now();
  const res = await engine.step(logits, mu, items, batchOf(s), {
    gamma, tau, seed: 42, step: s, lambda: 1e-5, lambda2: 1e-3,
    interactionsPerUser: train.total / train.numUsers, depth: 1, loss: "softmax", batchBlock,
  });
  const total = (performance.now() - t0) / 1000;
  if (!res) throw new Error("bench: step cancelled");
  for (let p = 0; p < logits.length; p++) logits[p] -= 0.04 * Math.sign(res.dLogits![p]);
  // ORT runs and megabytes each way in this step (the host↔device traffic on a GPU).
  const runs = be.stats.runs - before.runs;
  const upMb = (be.stats.hostToDeviceBytes - before.hostToDeviceBytes) / 2 ** 20;
  const downMb = (be.stats.deviceToHostBytes - before.deviceToHostBytes) / 2 ** 20;
  perStep.push({ step: s, total, ...Object.fromEntries(keys.map((k) => [k, res.timings[k]])), loss: res.loss, runs, upMb, downMb });
  say(`step ${s}: total ${total.toFixed(2)} s | ${keys.map((k) => `${k} ${res.timings[k].toFixed(2)}`).join(" | ")} | loss ${res.loss.toFixed(4)} | ${runs} runs, ${upMb.toFixed(0)} MB up, ${downMb.toFixed(0)} MB down`);
  if (s > 1 || steps === 1) {
    totalSum += total;
    for (const k of keys) sums[k] = (sums[k] ?? 0) + res.timings[k];
  }
}
const n = steps > 1 ? steps - 1 : 1;
const peakMb = process.resourceUsage().maxRSS / 1024;
say(`mean over ${n} step(s): total ${(totalSum / n).toFixed(2)} s | ${keys.map((k) => `${k} ${(sums[k] / n).toFixed(2)}`).join(" | ")}`);
say(`peak RSS ${peakMb.toFixed(0)} MB (${rssBeforeStepsMb.toFixed(0)} MB before the first step)`);
if (json) {
  const mean = Object.fromEntries([["total", totalSum / n], ...keys.map((k) => [k, sums[k] / n])]);
  console.log(JSON.stringify({ backend: be.message, data: dataName, mu, gamma, tau, datasetUsers: train.numUsers, items, workers, sampling, innerPrecision, noiseStored: engine.deviceSampler ? engine.deviceSampler.storesNoise(mu, items, gamma) : engine.sampling.storesNoise(mu, items, gamma), batch: batchSize, batchPool: pool, steps: perStep, meanAfterFirst: mean, rssBeforeStepsMb: Math.round(rssBeforeStepsMb), peakRssMb: Math.round(peakMb) }, null, 2));
}
await engine.close();
