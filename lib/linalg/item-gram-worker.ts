/** Worker side of sparseItemGram (item-gram.ts): sums one range of G's rows per message. */
import { serveJobs } from "../util/worker.ts";
import { type ItemGramJob, itemGramRows } from "./item-gram.ts";

await serveJobs<ItemGramJob, { rows: Float32Array }>("item-gram-worker", (job) => {
  const rows = itemGramRows(job);
  return { reply: { rows }, transfer: [rows.buffer as ArrayBuffer] };
});
