/**
 * The paper's Table 2 (appendix B.3): statistics of every dataset found —
 * users, items, interactions, density, mean interactions per user and per
 * item, and the train / validation / test split sizes. Every number comes from
 * lib/data's datasetStats, the same function behind `infrec datasets`, on the
 * datasets as loaded (duplicate rows summed, as the official loader does).
 *
 *   npx tsx scripts/table2.ts [--data-dir ../shared/data] [--datasets a,b] [--quick] [--out results]
 * writes results/table2.{md,csv,json} (--quick: Magazine only, table2-quick.*).
 */
import { cac } from "cac";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type DatasetStats, datasetStats } from "../lib/data/dataset.ts";
import { listDatasets, loadDataset } from "../lib/data/registry.ts";
import { writeFileAtomic } from "../lib/models/infinite-ae/artifact-file.ts";
import { isEntry, main } from "./figures-common.ts";

export interface Table2Row extends DatasetStats {
  /** Interactions divided by users and by items. */
  interactionsPerUser: number;
  interactionsPerItem: number;
}

export function table2Row(stats: DatasetStats): Table2Row {
  return { ...stats, interactionsPerUser: stats.interactions / stats.users, interactionsPerItem: stats.interactions / stats.items };
}

const int = (n: number) => n.toLocaleString("en-US");

export function toMarkdown(rows: Table2Row[]): string {
  const out = [
    "# Table 2: dataset statistics",
    "",
    "Computed by scripts/table2.ts from the datasets as loaded (the numbers of `infrec datasets`).",
    "Interactions count every kept row (repeated user–item rows included); density is distinct",
    "user–item pairs / (users × items).",
    "",
    "| dataset | users | items | interactions | density (%) | interactions / user | interactions / item | train | validation | test |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    out.push(
      `| ${r.name} | ${int(r.users)} | ${int(r.items)} | ${int(r.interactions)} | ${(100 * r.density).toFixed(3)} | ${r.interactionsPerUser.toFixed(1)} | ${r.interactionsPerItem.toFixed(1)} | ${int(r.train)} | ${int(r.validation)} | ${int(r.test)} |`,
    );
  }
  return out.join("\n") + "\n";
}

export function toCsv(rows: Table2Row[]): string {
  const lines = ["dataset,users,items,interactions,density,interactions_per_user,interactions_per_item,train,validation,test,duplicates"];
  for (const r of rows) {
    lines.push([r.name, r.users, r.items, r.interactions, r.density, r.interactionsPerUser, r.interactionsPerItem, r.train, r.validation, r.test, r.duplicates].join(","));
  }
  return lines.join("\n") + "\n";
}

export interface Table2Options {
  /** Folder of datasets (default: the registry's search path). */
  dataDir?: string;
  /** Only these datasets (default: every dataset found). */
  datasets?: string[];
  quick?: boolean;
  out: string;
  log?: (line: string) => void;
}

export async function runTable2(o: Table2Options): Promise<Table2Row[]> {
  const names = o.datasets ?? (o.quick ? ["magazine"] : (await listDatasets(o.dataDir)).map((d) => d.name));
  if (names.length === 0) throw new Error(`no datasets found${o.dataDir ? ` in ${o.dataDir}` : ""}; pass --data-dir`);
  const rows: Table2Row[] = [];
  for (const name of names) {
    o.log?.(`table2: ${name} …`);
    rows.push(table2Row(datasetStats(await loadDataset(name, { dataDir: o.dataDir }))));
  }
  mkdirSync(o.out, { recursive: true });
  const base = join(o.out, o.quick ? "table2-quick" : "table2");
  writeFileAtomic(`${base}.json`, JSON.stringify({ table: "table2", rows }, null, 2) + "\n");
  writeFileAtomic(`${base}.csv`, toCsv(rows));
  writeFileAtomic(`${base}.md`, toMarkdown(rows));
  return rows;
}

if (isEntry(import.meta, "table2.ts")) {
  await main(async () => {
    const cli = cac("table2");
    cli
      .option("--data-dir <dir>", "Dataset folder (default: $INFREC_DATA, data/, ../shared/data)")
      .option("--datasets <list>", "Only these datasets (default: every dataset found)")
      .option("--quick", "Magazine only; writes table2-quick.*")
      .option("--out <dir>", "Output folder", { default: "results" })
      .option("--quiet", "No progress lines on stderr")
      .help();
    const { options } = cli.parse();
    if (options.help) return;
    const rows = await runTable2({
      dataDir: options.dataDir === undefined ? undefined : String(options.dataDir),
      datasets: options.datasets === undefined ? undefined : String(options.datasets).split(",").map((s) => s.trim()).filter(Boolean),
      quick: Boolean(options.quick),
      out: String(options.out),
      log: options.quiet ? undefined : (line) => process.stderr.write(line + "\n"),
    });
    console.log(toMarkdown(rows));
  }, "table2");
}
