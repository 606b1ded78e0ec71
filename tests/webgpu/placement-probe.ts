/**
 * Fits and evaluates ∞-AE and EASE on the device engine with WebGPU, with
 * ORT's verbose log on (INFREC_ORT_LOG=verbose): engine.webgpu.ts runs this in
 * a child process and reads from the log which nodes ORT placed on the CPU.
 */
import { tuneModel } from "../../lib/tuning/tune.ts";
import { plantedDataset } from "../models/synthetic.ts";

const ds = plantedDataset(300, 48, 4, 12, 3);
await tuneModel(ds, "inf-ae", { grid: [1, 5].map((lambda) => ({ lambda, depth: 1, precision: "float32" })), build: { device: "webgpu" }, test: true });
await tuneModel(ds, "ease", { grid: [1, 10].map((lambda) => ({ lambda })), build: { device: "webgpu" }, test: true });
