/**
 * The browser page: open an ∞-AE artifact, pick items by id or title, see the
 * top 10 for a new user with those items. Scoring is infrec's edge module on
 * onnxruntime-web (WASM). Built by examples/browser/build.ts into app.js.
 *
 * Query parameters: ?model=URL and ?titles=URL open files at start (otherwise the
 * ones the build shipped, if any); ?threads=N sets the WASM threads on a
 * cross-origin-isolated page (default min(4, ⌈cores/2⌉), ORT's own default).
 * Elsewhere the page runs one thread: browsers give SharedArrayBuffer, which
 * WASM threads need, only to cross-origin-isolated pages.
 */
import * as ort from "onnxruntime-web";
import { EdgeRecommender } from "../../lib/edge/mod.ts";
import { ItemCatalog, parseTitles } from "./catalog.ts";

const TOP_K = 10;
const SEARCH_LIMIT = 30;

// build.ts puts ORT's runtime files in ./ort/ beside app.js; say so rather than
// rely on ORT finding them next to its own module.
ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;

const params = new URLSearchParams(location.search);

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

const ui = {
  modelFile: element<HTMLInputElement>("model-file"),
  titlesFile: element<HTMLInputElement>("titles-file"),
  status: element<HTMLParagraphElement>("status"),
  modelInfo: element<HTMLParagraphElement>("model-info"),
  runtime: element<HTMLParagraphElement>("runtime"),
  search: element<HTMLInputElement>("search"),
  matches: element<HTMLUListElement>("matches"),
  pasteForm: element<HTMLFormElement>("paste-form"),
  paste: element<HTMLInputElement>("paste"),
  add: element<HTMLButtonElement>("add"),
  clear: element<HTMLButtonElement>("clear"),
  selected: element<HTMLUListElement>("selected"),
  unknown: element<HTMLParagraphElement>("unknown"),
  results: element<HTMLOListElement>("results"),
  timing: element<HTMLParagraphElement>("timing"),
};

type Status = "idle" | "busy" | "ready" | "error";

function setStatus(state: Status, text: string): void {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
}

function fail(e: unknown): void {
  console.error(e);
  setStatus("error", e instanceof Error ? e.message : String(e));
}

/** WASM threads: more than one only where the browser allows shared memory. */
function chooseThreads(): { threads: number; why: string } {
  if (!crossOriginIsolated) return { threads: 1, why: "the page is not cross-origin isolated (serve it with COOP/COEP headers for more)" };
  const asked = params.get("threads");
  if (asked !== null) {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1) throw new Error(`?threads must be a positive integer, got '${asked}'`);
    return { threads: n, why: "?threads" };
  }
  return { threads: Math.min(4, Math.ceil((navigator.hardwareConcurrency || 1) / 2)), why: "ORT's default for this machine" };
}

const state = {
  recommender: undefined as EdgeRecommender | undefined,
  titles: new Map<string, string>(),
  catalog: new ItemCatalog([]),
  selected: [] as string[],
};

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res;
}

function setControls(enabled: boolean): void {
  for (const c of [ui.search, ui.paste, ui.add, ui.clear]) c.disabled = !enabled;
}

async function openModel(bytes: Uint8Array, name: string): Promise<void> {
  setControls(false);
  setStatus("busy", `Opening ${name} (${(bytes.length / 1e6).toFixed(1)} MB)…`);
  const t0 = performance.now();
  // ORT fixes its thread count when it first starts, so a second artifact runs with the first one's.
  const choice = chooseThreads();
  const recommender = await EdgeRecommender.fromBytes(bytes, { threads: choice.threads });
  state.recommender = recommender;
  state.catalog = new ItemCatalog(recommender.itemIds, state.titles);
  state.selected = [];
  const info = recommender.info;
  ui.modelInfo.textContent =
    `${name}: ${info.numItems} items, ${info.numSupport} support users, λ = ${info.lambda}, depth ${info.depth}` +
    (info.dataset ? `, dataset ${info.dataset}` : "") +
    ` — ${state.catalog.titled} items have titles. Opened in ${Math.round(performance.now() - t0)} ms.`;
  // ORT has started by now and lowered numThreads itself if threads were impossible.
  const threads = ort.env.wasm.numThreads ?? 1;
  ui.runtime.dataset.threads = String(threads);
  ui.runtime.dataset.isolated = String(crossOriginIsolated);
  ui.runtime.textContent =
    `ONNX Runtime Web ${ort.env.versions.web ?? ""}: ${threads} WASM thread${threads === 1 ? "" : "s"} (${choice.why}); ` +
    `cross-origin isolated: ${crossOriginIsolated ? "yes" : "no"}.`;
  setControls(true);
  ui.search.value = "";
  renderMatches();
  await refresh();
}

function setTitles(titles: Map<string, string>): void {
  state.titles = titles;
  if (state.recommender) state.catalog = new ItemCatalog(state.recommender.itemIds, titles);
  renderMatches();
  renderSelected();
  void refresh();
}

/** An item's visible name: its title (when known) and its id. */
function itemLabel(id: string, into: HTMLElement): void {
  const title = state.catalog.title(id);
  if (title !== undefined && title !== "") into.append(`${title} `);
  const idSpan = document.createElement("span");
  idSpan.className = "id";
  idSpan.textContent = title ? `(${id})` : id;
  into.append(idSpan);
}

function renderMatches(): void {
  const { ids, total } = state.catalog.search(ui.search.value, SEARCH_LIMIT);
  const rows = ids.map((id) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.item = id;
    itemLabel(id, b);
    b.addEventListener("click", () => addItems([id]));
    li.append(b);
    return li;
  });
  if (total > ids.length) {
    const li = document.createElement("li");
    li.className = "note";
    li.textContent = `… ${total - ids.length} more; type more to narrow.`;
    rows.push(li);
  }
  ui.matches.replaceChildren(...rows);
}

function renderSelected(): void {
  ui.selected.replaceChildren(
    ...state.selected.map((id) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.item = id;
      b.title = "remove";
      itemLabel(id, b);
      b.append(" ×");
      b.addEventListener("click", () => {
        state.selected = state.selected.filter((x) => x !== id);
        void refresh();
      });
      li.append(b);
      return li;
    }),
  );
}

function addItems(ids: readonly string[]): void {
  const unknown = ids.filter((id) => !state.catalog.has(id));
  ui.unknown.textContent = unknown.length ? `Not items of this model: ${unknown.join(", ")}` : "";
  const fresh = ids.filter((id) => state.catalog.has(id) && !state.selected.includes(id));
  state.selected = [...state.selected, ...new Set(fresh)];
  void refresh();
}

// Runs one at a time (one ORT session), and a selection that changed while
// waiting is scored only in its latest form.
let scoring: Promise<void> = Promise.resolve();
let generation = 0;

function refresh(): Promise<void> {
  renderSelected();
  const mine = ++generation;
  scoring = scoring.then(async () => {
    if (mine !== generation || !state.recommender) return;
    const items = [...state.selected];
    if (items.length === 0) {
      ui.results.replaceChildren();
      ui.results.dataset.for = "";
      ui.timing.textContent = "";
      setStatus("ready", "Pick items to see recommendations.");
      return;
    }
    setStatus("busy", "Scoring…");
    const t0 = performance.now();
    try {
      const [result] = await state.recommender.recommend([items], TOP_K);
      if (mine !== generation) return;
      ui.results.replaceChildren(
        ...result.items.map(({ item, score }) => {
          const li = document.createElement("li");
          li.dataset.item = item;
          itemLabel(item, li);
          const s = document.createElement("span");
          s.className = "score";
          s.textContent = ` ${score.toFixed(4)}`;
          li.append(s);
          return li;
        }),
      );
      ui.results.dataset.for = items.join(",");
      ui.timing.textContent = `Scored ${items.length} item${items.length === 1 ? "" : "s"} in ${Math.round(performance.now() - t0)} ms.`;
      setStatus("ready", `Top ${result.items.length} for ${items.length} picked item${items.length === 1 ? "" : "s"}.`);
    } catch (e) {
      fail(e);
    }
  });
  return scoring;
}

ui.search.addEventListener("input", renderMatches);
ui.search.addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  const [first] = state.catalog.search(ui.search.value, 1).ids;
  if (first !== undefined) addItems([first]);
});
ui.pasteForm.addEventListener("submit", (e) => {
  e.preventDefault();
  addItems(ui.paste.value.split(/[\s,]+/).filter((s) => s !== ""));
  ui.paste.value = "";
});
ui.clear.addEventListener("click", () => {
  state.selected = [];
  ui.unknown.textContent = "";
  void refresh();
});
ui.modelFile.addEventListener("change", () => {
  const file = ui.modelFile.files?.[0];
  if (file) file.arrayBuffer().then((b) => openModel(new Uint8Array(b), file.name)).catch(fail);
});
ui.titlesFile.addEventListener("change", () => {
  const file = ui.titlesFile.files?.[0];
  if (file) file.text().then((t) => setTitles(parseTitles(t))).catch(fail);
});

/** ?model / ?titles, else what the build shipped (meta tags), else wait for the file pickers. */
async function start(): Promise<void> {
  const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content || null;
  const titlesUrl = params.get("titles") ?? meta("infrec-titles");
  const modelUrl = params.get("model") ?? meta("infrec-model");
  if (titlesUrl) state.titles = parseTitles(await (await fetchOk(titlesUrl)).text());
  if (modelUrl) {
    setStatus("busy", `Downloading ${modelUrl}…`);
    await openModel(new Uint8Array(await (await fetchOk(modelUrl)).arrayBuffer()), modelUrl);
  }
}

start().catch(fail);
