/**
 * One DISTILL-CF step with device sampling and the fused batch graph on WebGPU,
 * with ORT's verbose log on (INFREC_ORT_LOG=verbose): distill.webgpu.ts runs
 * this in a child process and reads from the log which nodes ORT placed on the CPU.
 */
import { denseBatch, FastDistillEngine } from "../../lib/distill/fast-step.ts";
import { getBackend } from "../../lib/onnx/backend.ts";

const backend = await getBackend({ device: "webgpu" });
const mu = 4;
const items = 24;
const rows = 9;
const logits = new Float64Array(mu * items).map((_, i) => (i % 5 === 0 ? 1 : 0));
const xb = new Float32Array(rows * items).map((_, i) => (i % 3 === 0 ? 1 : 0));
const cfg = { lambda: 0.1, lambda2: 0.5, interactionsPerUser: 3, depth: 1, loss: "softmax" as const, gamma: 3, tau: 2, seed: 1, step: 1, batchBlock: rows };
// Noise stored on the device, then drawn again in the backward: every sampling graph runs.
for (const storeNoiseBytes of [2 ** 20, 0]) {
  const engine = new FastDistillEngine(backend, { sampling: "device", storeNoiseBytes });
  await engine.step(logits, mu, items, denseBatch(xb, rows, items), cfg);
  await engine.close();
}
