/**
 * User-given hyper-parameter grids: "lambda=1,5,20;depth=1,2" parsed, checked
 * against a model's default grid and substituted into it. Knows no model: a
 * grid is a list of plain parameter records, and the keys a model has are the
 * keys of its default grid.
 */

/** A hyper-parameter value a user can type: a number, true/false, a word, or a list of numbers ("[200,100]"). */
export type GridValue = number | boolean | string | readonly number[];

/** Each key with the values it should take, in the order given. */
export type GridSpec = ReadonlyArray<{ key: string; values: readonly GridValue[] }>;

/** Splits on commas outside brackets: "1,[2,3],4" → ["1", "[2,3]", "4"]. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts.map((p) => p.trim());
}

function parseValue(key: string, text: string): GridValue {
  if (text === "") throw new Error(`${key}: empty value`);
  if (text.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${key}: '${text}' is not a list of numbers like [200,100]`);
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new Error(`${key}: '${text}' is not a list of numbers like [200,100]`);
    }
    return parsed as number[];
  }
  if (text === "true" || text === "false") return text === "true";
  const x = Number(text);
  if (Number.isFinite(x)) return x;
  if (/^[+-]?(inf|infinity|nan)$/i.test(text)) throw new Error(`${key}: '${text}' is not a finite number`);
  return text;
}

/** Parses "key=v1,v2;key2=v3" (spaces allowed); throws naming the first problem. */
export function parseGridSpec(text: string): GridSpec {
  const spec: { key: string; values: GridValue[] }[] = [];
  const entries = text.split(";").map((e) => e.trim()).filter((e) => e !== "");
  if (entries.length === 0) throw new Error("empty grid (write key=v1,v2;key2=v3)");
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq < 0) throw new Error(`'${entry}' has no '=' (write key=v1,v2)`);
    const key = entry.slice(0, eq).trim();
    if (key === "") throw new Error(`'${entry}' has no key before '='`);
    if (spec.some((s) => s.key === key)) throw new Error(`${key} is given twice`);
    const values = splitTopLevel(entry.slice(eq + 1)).map((v) => parseValue(key, v));
    spec.push({ key, values });
  }
  return spec;
}

function kindOf(v: unknown): string {
  return Array.isArray(v) ? "list" : typeof v;
}

/** A record's identity regardless of key order (to drop repeated candidates). */
function identity(p: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(p).sort().map((k) => [k, p[k]]));
}

/**
 * The default grid with each key of `spec` taking exactly the values given
 * (the other keys keep the default grid's values), repeated candidates dropped,
 * in the default grid's order. A key must be one of the grid's keys, and a
 * value of the same kind as the default's (number, boolean, word, list); a
 * number whose defaults are all ≥ 0 must be ≥ 0. `owner` names the model in errors.
 */
export function overrideGrid<P extends Record<string, unknown>>(grid: readonly P[], spec: GridSpec, owner: string): P[] {
  const keys = [...new Set(grid.flatMap((p) => Object.keys(p)))];
  for (const { key, values } of spec) {
    if (!keys.includes(key)) {
      const known = keys.length ? keys.join(", ") : "none: it has no hyper-parameters";
      throw new Error(`model '${owner}' has no hyper-parameter '${key}' (its grid's keys: ${known})`);
    }
    const defaults = grid.map((p) => p[key]).filter((v) => v !== undefined);
    const kind = kindOf(defaults[0]);
    for (const v of values) {
      if (kindOf(v) !== kind) throw new Error(`${key}: '${JSON.stringify(v)}' is not a ${kind} (default ${JSON.stringify(defaults[0])})`);
      if (typeof v === "number" && v < 0 && defaults.every((d) => (d as number) >= 0)) throw new Error(`${key} must not be negative, got ${v}`);
    }
  }
  let out: P[] = grid.map((p) => ({ ...p }));
  for (const { key, values } of spec) out = out.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  const seen = new Set<string>();
  return out.filter((p) => {
    const id = identity(p);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
