/**
 * The page's item list: a model's item ids with optional titles, searchable by
 * id or title. No DOM here, so Node tests cover it (tests/browser/catalog.test.ts).
 */

/**
 * Reads a titles file: a JSON object `{"id": "title"}`, or lines `id<TAB>title`
 * or MovieLens `id::title` (further columns such as genres are ignored).
 */
export function parseTitles(text: string): Map<string, string> {
  const body = text.replace(/^\uFEFF/, "");
  const titles = new Map<string, string>();
  if (/^[[{]/.test(body.trimStart())) {
    const parsed: unknown = JSON.parse(body);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("titles: the JSON must be an object mapping item id to title");
    for (const [id, title] of Object.entries(parsed)) {
      if (typeof title !== "string" && typeof title !== "number") throw new Error(`titles: item ${id}'s title is not a string`);
      titles.set(id.trim(), String(title).trim());
    }
    return titles;
  }
  body.split(/\r?\n/).forEach((line, n) => {
    if (line.trim() === "") return;
    const sep = line.includes("\t") ? "\t" : line.includes("::") ? "::" : null;
    if (sep === null) throw new Error(`titles: line ${n + 1} is not id<TAB>title or id::title: ${JSON.stringify(line.slice(0, 80))}`);
    const [id, title] = line.split(sep);
    titles.set(id.trim(), title.trim());
  });
  return titles;
}

export interface SearchResult {
  /** Matching ids, best first, at most the limit. */
  ids: string[];
  /** How many items match in all. */
  total: number;
}

export class ItemCatalog {
  private readonly known: ReadonlySet<string>;
  private readonly lowerTitles: readonly string[];

  constructor(
    readonly ids: readonly string[],
    private readonly titles: ReadonlyMap<string, string> = new Map(),
  ) {
    this.known = new Set(ids);
    this.lowerTitles = ids.map((id) => titles.get(id)?.toLowerCase() ?? "");
  }

  has(id: string): boolean {
    return this.known.has(id);
  }

  title(id: string): string | undefined {
    return this.titles.get(id);
  }

  /** How many of the model's items have a title. */
  get titled(): number {
    return this.lowerTitles.filter((t) => t !== "").length;
  }

  /** Items whose id equals the query, then ids starting with it, then titles containing it (case-insensitive). */
  search(query: string, limit: number): SearchResult {
    const q = query.trim().toLowerCase();
    if (q === "") return { ids: [], total: 0 };
    const exact: string[] = [];
    const prefix: string[] = [];
    const inTitle: string[] = [];
    this.ids.forEach((id, i) => {
      const lower = id.toLowerCase();
      if (lower === q) exact.push(id);
      else if (lower.startsWith(q)) prefix.push(id);
      else if (this.lowerTitles[i].includes(q)) inTitle.push(id);
    });
    const all = [...exact, ...prefix, ...inTitle];
    return { ids: all.slice(0, limit), total: all.length };
  }
}
