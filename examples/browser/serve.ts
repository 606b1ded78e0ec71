/**
 * A static server for the built page (or any folder), cross-origin isolated by
 * default: COOP `same-origin` + COEP `require-corp` on every response make
 * `crossOriginIsolated` true, which browsers require before they hand a page
 * SharedArrayBuffer — and so before onnxruntime-web can run more than one WASM thread.
 *
 *   npx tsx examples/browser/serve.ts [--dir examples/browser/dist] [--port 8080] [--no-isolation]
 *
 * The browser test (tests/browser/page.browser.ts) serves the page with and without isolation
 * through `serveStatic`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import sirv from "sirv";

export interface ServeOptions {
  /** Send COOP/COEP so the page is cross-origin isolated (default true). */
  isolated?: boolean;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
}

export interface StaticServer {
  /** Base URL ending in "/". */
  url: string;
  close(): Promise<void>;
}

/** The headers that make a page cross-origin isolated. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export function serveStatic(dir: string, options: ServeOptions = {}): Promise<StaticServer> {
  const isolated = options.isolated ?? true;
  const files = sirv(dir, {
    // Every rebuild replaces the files; a cached app.js next to a new ORT would mislead.
    dev: true,
    setHeaders: (res) => {
      if (isolated) for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    },
  });
  const server = createServer((req, res) =>
    files(req, res, () => {
      res.statusCode = 404;
      res.end("not found");
    }),
  );
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      const { address, port } = server.address() as AddressInfo;
      done({
        url: `http://${address}:${port}/`,
        close: () => new Promise<void>((closed) => server.close(() => closed())),
      });
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      dir: { type: "string", default: fileURLToPath(new URL("./dist/", import.meta.url)) },
      port: { type: "string", default: "8080" },
      "no-isolation": { type: "boolean", default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0) throw new Error(`--port must be a port number, got '${values.port}'`);
  const isolated = !values["no-isolation"];
  const server = await serveStatic(values.dir, { port, isolated });
  console.log(`serving ${values.dir} at ${server.url} (${isolated ? "cross-origin isolated: WASM threads on" : "not isolated: one WASM thread"})`);
}
