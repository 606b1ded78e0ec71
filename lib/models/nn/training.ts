/**
 * The epoch loop every gradient-trained baseline shares: progress messages
 * (epoch, loss, validation metric, ETA), early stopping on a validation
 * metric with restoring of the best epoch's parameters.
 */
import type { ProgressFn } from "../model.ts";

export interface EarlyStopping {
  /** Validation metric of the current parameters, higher is better (the paper: HR@100). */
  evaluate: () => Promise<number>;
  /** Epochs between evaluations (default 1). */
  every?: number;
  /** Evaluations without improvement before stopping (default 3). */
  patience?: number;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  metric?: number;
  seconds: number;
}

export interface TrainSummary {
  epochsRun: number;
  /** Epoch whose parameters were kept (the last one without early stopping). */
  bestEpoch: number;
  bestMetric: number | null;
  seconds: number;
  history: EpochRecord[];
}

export interface TrainLoopSpec {
  name: string;
  epochs: number;
  /** Runs one epoch and returns its mean loss. */
  runEpoch: (epoch: number) => number;
  snapshot: () => Float32Array;
  restore: (snapshot: Float32Array) => void;
  earlyStopping?: EarlyStopping;
  onProgress?: ProgressFn;
}

const now = (): number => performance.now() / 1000;

export async function trainLoop(spec: TrainLoopSpec): Promise<TrainSummary> {
  const { epochs, earlyStopping } = spec;
  const every = earlyStopping?.every ?? 1;
  const patience = earlyStopping?.patience ?? 3;
  const t0 = now();
  const history: EpochRecord[] = [];
  let best: { epoch: number; metric: number; params: Float32Array } | null = null;
  let bad = 0;
  let epoch = 0;
  for (epoch = 1; epoch <= epochs; epoch++) {
    const te = now();
    const loss = spec.runEpoch(epoch);
    if (!Number.isFinite(loss)) throw new Error(`${spec.name}: loss became ${loss} in epoch ${epoch} (lower the learning rate)`);
    const rec: EpochRecord = { epoch, loss, seconds: now() - te };
    if (earlyStopping && (epoch % every === 0 || epoch === epochs)) {
      const metric = await earlyStopping.evaluate();
      rec.metric = metric;
      if (!best || metric > best.metric) {
        best = { epoch, metric, params: spec.snapshot() };
        bad = 0;
      } else {
        bad++;
      }
    }
    history.push(rec);
    const elapsed = now() - t0;
    const eta = (elapsed / epoch) * (epochs - epoch);
    const metricText = rec.metric === undefined ? "" : ` val ${rec.metric.toFixed(2)}`;
    spec.onProgress?.(epoch / epochs, `${spec.name} epoch ${epoch}/${epochs} loss ${loss.toFixed(4)}${metricText} eta ${eta.toFixed(0)}s`);
    if (earlyStopping && bad >= patience) break;
    // Yield to the event loop between epochs so long fits stay interruptible.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  const epochsRun = Math.min(epoch, epochs);
  if (best && best.epoch !== epochsRun) spec.restore(best.params);
  return {
    epochsRun,
    bestEpoch: best ? best.epoch : epochsRun,
    bestMetric: best ? best.metric : null,
    seconds: now() - t0,
    history,
  };
}
