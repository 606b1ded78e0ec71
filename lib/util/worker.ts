/**
 * One module worker that answers one job at a time, on every runtime infrec
 * runs on: a Node worker_thread (Node; the worker registers tsx first when it
 * is a .ts source, since a loader given to the parent with --import does not
 * reach workers), else a Web Worker (Deno, Bun, browsers). The worker module
 * answers each message with `{ ok: true, ... }` or `{ ok: false, error }`
 * (see serveJobs). An idle worker does not keep the process alive.
 */

export interface WorkerReply {
  ok: boolean;
  error?: string;
}

export interface WorkerHandle<Job, Reply extends WorkerReply> {
  /** Sends a job; resolves with the reply, rejects on `ok: false` or a worker error. */
  post(job: Job, transfer?: Transferable[]): Promise<Reply>;
  terminate(): Promise<void>;
}

/** Logical cores: navigator.hardwareConcurrency where it exists (browsers, Deno, Bun, Node ≥ 21), else node:os. */
export async function logicalCores(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const n = nav?.hardwareConcurrency;
  if (typeof n === "number" && n > 0) return n;
  try {
    const os = await import("node:os");
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    return 1;
  }
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string; bun?: string } } }).process;
  return typeof p?.versions?.node === "string" && typeof (globalThis as { Deno?: unknown }).Deno === "undefined" && typeof p.versions.bun !== "string";
}

/** Starts the worker module at `url` (a sibling .ts from the sources, .js from the build). */
export async function spawnWorker<Job, Reply extends WorkerReply>(url: URL, label: string): Promise<WorkerHandle<Job, Reply>> {
  const WebWorker = (globalThis as { Worker?: new (u: URL, o: { type: "module" }) => Worker }).Worker;
  let pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  const settle = (m: Reply): void => {
    const p = pending;
    pending = null;
    if (!p) return;
    if (m.ok) p.resolve(m);
    else p.reject(new Error(`${label}: ${m.error ?? "failed"}`));
  };
  const fail = (e: unknown): void => {
    const p = pending;
    pending = null;
    p?.reject(e instanceof Error ? e : new Error(String(e)));
  };
  const busy = (): void => {
    if (pending) throw new Error(`${label}: a job is already in flight on this worker`);
  };
  if (isNode() || !WebWorker) {
    const { Worker } = await import("node:worker_threads");
    let tsxApi = "tsx/esm/api";
    try {
      tsxApi = (import.meta as { resolve?: (s: string) => string }).resolve?.(tsxApi) ?? tsxApi;
    } catch {
      // keep the bare specifier
    }
    const bootstrap = `(async () => {
      if (${JSON.stringify(url.pathname.endsWith(".ts"))}) {
        const api = await import(${JSON.stringify(tsxApi)});
        api.register();
      }
      await import(${JSON.stringify(url.href)});
    })().catch((e) => { throw e; });`;
    const w = new Worker(bootstrap, { eval: true });
    // Keep the process alive only while a job is in flight.
    w.on("message", (m: Reply) => {
      w.unref();
      settle(m);
    });
    w.on("error", (e: unknown) => {
      w.unref();
      fail(e);
    });
    w.unref();
    return {
      post: (job, transfer) =>
        new Promise<Reply>((resolve, reject) => {
          busy();
          pending = { resolve, reject };
          w.ref();
          w.postMessage(job, transfer as never);
        }),
      terminate: async () => {
        await w.terminate();
      },
    };
  }
  const w = new WebWorker(url, { type: "module" });
  w.onmessage = (ev: MessageEvent) => settle(ev.data as Reply);
  w.onerror = (ev: ErrorEvent) => fail(new Error(ev.message));
  return {
    post: (job, transfer) =>
      new Promise<Reply>((resolve, reject) => {
        busy();
        pending = { resolve, reject };
        w.postMessage(job, transfer ?? []);
      }),
    terminate: async () => {
      w.terminate();
    },
  };
}

/**
 * The worker side: answers every job with `work(job)` (plus `ok: true`), or
 * with `{ ok: false, error }` when it throws. Call it once at a worker module's top level.
 */
export async function serveJobs<Job, Reply extends object>(
  label: string,
  work: (job: Job) => { reply: Reply; transfer?: Transferable[] },
): Promise<void> {
  const answer = (job: Job, post: (m: unknown, transfer?: Transferable[]) => void): void => {
    let result: { reply: Reply; transfer?: Transferable[] };
    try {
      result = work(job);
    } catch (e) {
      post({ ok: false, error: e instanceof Error ? e.message : String(e) });
      return;
    }
    post({ ok: true, ...result.reply }, result.transfer);
  };
  type WebScope = { onmessage: ((ev: { data: Job }) => void) | null; postMessage(m: unknown, transfer?: Transferable[]): void };
  const scope = globalThis as unknown as Partial<WebScope> & { WorkerGlobalScope?: unknown };
  if (typeof scope.WorkerGlobalScope !== "undefined" && typeof scope.postMessage === "function") {
    scope.onmessage = (ev) => answer(ev.data, (m, t) => scope.postMessage?.(m, t ?? []));
    return;
  }
  const { parentPort } = await import("node:worker_threads");
  if (!parentPort) throw new Error(`${label}: not started as a worker`);
  parentPort.on("message", (job: Job) => answer(job, (m, t) => parentPort.postMessage(m, t as never)));
}

/**
 * Up to `size` workers of one module, started on first use. When they cannot
 * start (or a caller reports a failure with `fail`), `fallbackReason` says why
 * and `ensure` returns none from then on: the callers then do the work in the
 * calling thread, so a missing worker is never fatal.
 */
export class WorkerGroup<Job, Reply extends WorkerReply> {
  private workers: WorkerHandle<Job, Reply>[] | null = null;
  private starting: Promise<WorkerHandle<Job, Reply>[]> | null = null;
  /** Why the group runs no workers, once they failed to start or failed a job. */
  fallbackReason: string | null = null;

  constructor(readonly url: () => URL, readonly label: string, readonly size: number) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`${label}: the number of workers must be an integer ≥ 0, got ${size}`);
  }

  /** The workers, started now if need be; none when size is 0 or they failed. */
  async ensure(): Promise<WorkerHandle<Job, Reply>[]> {
    if (this.size === 0 || this.fallbackReason) return [];
    if (this.workers) return this.workers;
    this.starting ??= Promise.all(Array.from({ length: this.size }, () => spawnWorker<Job, Reply>(this.url(), this.label)));
    try {
      this.workers = await this.starting;
    } catch (e) {
      this.fallbackReason = e instanceof Error ? e.message : String(e);
      this.workers = [];
    }
    return this.workers;
  }

  /** Records why the workers are no longer used and stops them. */
  async fail(reason: unknown): Promise<void> {
    this.fallbackReason = reason instanceof Error ? reason.message : String(reason);
    await this.close();
  }

  async close(): Promise<void> {
    const ws = this.workers ?? [];
    this.workers = null;
    this.starting = null;
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
