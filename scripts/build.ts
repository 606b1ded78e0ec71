/**
 * Bundles the command line into plain JavaScript, so `infrec` starts without
 * compiling TypeScript (bin/infrec.js runs dist/cli.js):
 *
 *   dist/cli.js            lib/cli/main.ts and everything it imports
 *   dist/sample-worker.js  DISTILL-CF's sampling worker (lib/distill/sample-worker.ts),
 *                          which sample-pool.ts starts by URL, so no bundler follows it
 *   dist/block-factor-worker.js  the device Cholesky's diagonal-block worker
 *                          (lib/linalg/block-factor-worker.ts), started the same way
 *   dist/item-gram-worker.js  the sparse item Gram's row-range worker
 *                          (lib/linalg/item-gram-worker.ts), started the same way
 *
 * npm packages stay external: the native and WASM ones (onnxruntime-node,
 * onnxruntime-web, h5wasm) find their binaries relative to their own folders,
 * and all of them are installed dependencies anyway. `npm run build`, and
 * `npm ci` / `npm install` run it as `prepare`.
 *
 *   node --import tsx scripts/build.ts [outDir]   (default dist/)
 */
import { build, type Plugin } from "esbuild";
import { mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../lib/util/files.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export const ENTRY_POINTS = {
  cli: join(ROOT, "lib/cli/main.ts"),
  "sample-worker": join(ROOT, "lib/distill/sample-worker.ts"),
  "block-factor-worker": join(ROOT, "lib/linalg/block-factor-worker.ts"),
  "item-gram-worker": join(ROOT, "lib/linalg/item-gram-worker.ts"),
} as const;

/**
 * onnx-proto (protobufjs static code) takes ~0.1 s to load, and every command
 * reaches lib/onnx/builder.ts. In the build its default export becomes an
 * object whose `onnx` getter requires the real package on first read, which
 * builder.ts does only while encoding a graph. ESM cannot defer a static
 * import, hence CommonJS `require` (onnx-proto is CommonJS anyway).
 */
const lazyOnnxProto: Plugin = {
  name: "lazy-onnx-proto",
  setup(b) {
    b.onResolve({ filter: /^onnx-proto$/ }, () => ({ path: "onnx-proto", namespace: "lazy-onnx-proto" }));
    b.onLoad({ filter: /.*/, namespace: "lazy-onnx-proto" }, () => ({
      loader: "js",
      contents: `import { createRequire } from "node:module";
let loaded;
export default { get onnx() { return (loaded ??= createRequire(import.meta.url)("onnx-proto")).onnx; } };`,
    }));
  },
};

/** Builds into `outDir` and returns the files written (cli.js last, see below). */
export async function buildCli(outDir: string): Promise<string[]> {
  const result = await build({
    entryPoints: ENTRY_POINTS,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    outdir: outDir,
    // Only read when bin/infrec.js enables them (INFREC_DEBUG): stack traces name lib/ lines.
    sourcemap: "linked",
    sourcesContent: false,
    write: false,
    logLevel: "warning",
    plugins: [lazyOnnxProto],
  });
  mkdirSync(outDir, { recursive: true });
  // cli.js last: bin/infrec.js trusts dist by cli.js's time, which must not
  // be newer than a worker still being written.
  const files = [...result.outputFiles].sort((a, b) => Number(basename(a.path) === "cli.js") - Number(basename(b.path) === "cli.js"));
  for (const f of files) writeFileAtomic(f.path, f.contents);
  return files.map((f) => f.path);
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const outDir = resolve(process.argv[2] ?? join(ROOT, "dist"));
  const t0 = performance.now();
  const written = await buildCli(outDir);
  const js = written.filter((p) => p.endsWith(".js")).map((p) => basename(p));
  console.log(`built ${js.join(", ")} into ${outDir} in ${Math.round(performance.now() - t0)} ms`);
}
