/**
 * Builds the browser page into one folder that any static server can serve:
 *
 *   index.html   the page, with an import map: "onnxruntime-web" → ./ort/ort.wasm.min.mjs
 *   app.js       the page's code and infrec's edge module (lib/edge/mod.ts), bundled by esbuild
 *   ort/         onnxruntime-web's WASM-only ES module and its runtime (ort-wasm-simd-threaded.{mjs,wasm})
 *   model.infrec, titles.*   only with --model / --titles: the page then opens them by itself
 *
 *   npm run build:browser -- [--out DIR] [--model FILE.infrec] [--titles FILE]
 *
 * onnxruntime-web stays out of app.js on purpose. Bundled in, esbuild wraps it in a
 * lazy module initialiser, and with two WASM threads on a cross-origin-isolated
 * page the page hangs without an error: ORT's pthread workers start from the
 * script that holds ORT, and that start-up sits inside the wrapper. Imported as
 * its own module through the import map, ORT starts its workers from its own file.
 * onnxruntime-node and node: built-ins are left as imports too: the edge module
 * only reaches them on the native devices, never in a browser.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));

/** onnxruntime-web's WASM-only build (no WebGPU/WebGL: half the runtime's size) and the files it loads. */
export const ORT_FILES = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"] as const;

export interface BuildOptions {
  /** Output folder (default examples/browser/dist). */
  outDir?: string;
  /** An ∞-AE artifact to ship with the page and open on load. */
  model?: string;
  /** A titles file (JSON object id → title, id<TAB>title or MovieLens id::title lines) to ship with it. */
  titles?: string;
  /** esbuild's minifier (default true). */
  minify?: boolean;
}

export interface BuiltPage {
  outDir: string;
  /** Bytes of app.js. */
  appBytes: number;
  /** Paths of the shipped model and titles relative to outDir, when given. */
  model?: string;
  titles?: string;
}

/** The folder holding onnxruntime-web's dist files, as installed beside this repository. */
export function ortDistDir(): string {
  return dirname(createRequire(import.meta.url).resolve("onnxruntime-web"));
}

export async function buildBrowserPage(options: BuildOptions = {}): Promise<BuiltPage> {
  const outDir = resolve(options.outDir ?? join(HERE, "dist"));
  mkdirSync(join(outDir, "ort"), { recursive: true });
  const result = await build({
    entryPoints: [join(HERE, "app.ts")],
    outfile: join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    external: ["onnxruntime-web", "onnxruntime-node", "node:*"],
    minify: options.minify ?? true,
    sourcemap: "linked",
    logLevel: "warning",
    metafile: true,
  });
  const appBytes = result.metafile.outputs[Object.keys(result.metafile.outputs).find((p) => p.endsWith("app.js"))!].bytes;
  const ort = ortDistDir();
  for (const f of ORT_FILES) copyFileSync(join(ort, f), join(outDir, "ort", f));
  let page = readFileSync(join(HERE, "index.html"), "utf8");
  const built: BuiltPage = { outDir, appBytes };
  if (options.model !== undefined) {
    built.model = "model.infrec";
    copyFileSync(options.model, join(outDir, built.model));
    page = setMeta(page, "infrec-model", built.model);
  }
  if (options.titles !== undefined) {
    const ext = extname(options.titles);
    built.titles = `titles${/^\.[A-Za-z0-9]+$/.test(ext) ? ext : ".txt"}`;
    copyFileSync(options.titles, join(outDir, built.titles));
    page = setMeta(page, "infrec-titles", built.titles);
  }
  writeFileSync(join(outDir, "index.html"), page);
  return built;
}

/** Fills `<meta name="NAME" content="">` in the page template. */
function setMeta(html: string, name: string, content: string): string {
  const tag = `<meta name="${name}" content="">`;
  if (!html.includes(tag)) throw new Error(`index.html has no ${tag}`);
  return html.replace(tag, `<meta name="${name}" content="${content}">`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      model: { type: "string" },
      titles: { type: "string" },
    },
  });
  const t0 = performance.now();
  const built = await buildBrowserPage({ outDir: values.out, model: values.model, titles: values.titles });
  const shipped = [built.model && `${built.model} (from ${basename(values.model!)})`, built.titles && `${built.titles} (from ${basename(values.titles!)})`].filter(Boolean);
  console.log(
    `built ${built.outDir} in ${((performance.now() - t0) / 1000).toFixed(1)} s: app.js ${(built.appBytes / 1e3).toFixed(0)} kB, ort/ ${ORT_FILES.length} files` +
      (shipped.length ? `, ${shipped.join(", ")}` : ""),
  );
  console.log("serve it with COOP/COEP for WASM threads: npx tsx examples/browser/serve.ts");
}
