/**
 * The paper's Table 1 (test set): AUC as a fraction, the rest × 100. Used by
 * scripts/table1.ts to print our numbers beside the paper's.
 */
export const TABLE1_METRICS = ["AUC", "HR@10", "HR@100", "NDCG@10", "NDCG@100", "PSP@10"] as const;

/** Column keys in Table 1's order, with the paper's column names. */
export const TABLE1_MODELS: Record<string, string> = {
  pop: "PopRec",
  "bias-only": "Bias only",
  mf: "MF",
  neumf: "NeuMF",
  lightgcn: "LightGCN",
  ease: "EASE",
  multvae: "MVAE",
  "inf-ae": "∞-AE",
  "distill-inf-ae": "DISTILL-CF + ∞-AE",
};

type Row = [number, number, number, number, number, number];

const rows = (t: Record<string, Row>) =>
  Object.fromEntries(
    Object.entries(t).map(([model, v]) => [model, Object.fromEntries(TABLE1_METRICS.map((m, i) => [m, v[i]]))]),
  ) as Record<string, Record<string, number>>;

/** paper[dataset][model][metric] */
export const PAPER_TABLE1: Record<string, Record<string, Record<string, number>>> = {
  magazine: rows({
    pop: [0.8436, 14.35, 59.5, 8.42, 19.38, 6.85],
    "bias-only": [0.8445, 14.36, 59.35, 8.33, 19.31, 6.73],
    mf: [0.8475, 18.36, 58.94, 13.1, 21.76, 9.24],
    neumf: [0.8525, 18.35, 59.3, 13.6, 21.13, 9.0],
    lightgcn: [0.8141, 27.12, 58.0, 22.57, 29.92, 13.2],
    ease: [0.6673, 26.31, 48.36, 22.84, 28.27, 12.96],
    multvae: [0.8507, 17.94, 57.3, 12.18, 19.46, 8.81],
    "inf-ae": [0.8539, 27.09, 60.86, 23.06, 30.75, 13.22],
    "distill-inf-ae": [0.8584, 28.27, 61.78, 23.81, 31.75, 13.76],
  }),
  "ml-1m": rows({
    pop: [0.8332, 13.07, 30.38, 13.84, 19.49, 1.1],
    "bias-only": [0.833, 12.93, 29.63, 13.74, 19.13, 1.07],
    mf: [0.9065, 24.63, 53.26, 25.65, 35.62, 2.41],
    neumf: [0.9045, 23.25, 51.42, 24.44, 33.93, 2.26],
    lightgcn: [0.9289, 27.43, 55.61, 28.85, 38.29, 2.72],
    ease: [0.9069, 28.54, 57.28, 29.88, 40.16, 3.06],
    multvae: [0.8832, 21.7, 52.29, 22.14, 33.82, 2.42],
    "inf-ae": [0.9457, 31.51, 60.05, 32.82, 42.53, 3.22],
    "distill-inf-ae": [0.9415, 31.16, 58.28, 32.52, 41.29, 3.15],
  }),
  douban: rows({
    pop: [0.8945, 11.06, 17.07, 11.63, 12.63, 0.52],
    "bias-only": [0.8932, 10.71, 16.63, 11.24, 12.27, 0.5],
    mf: [0.9288, 12.69, 20.29, 13.21, 14.96, 0.63],
    neumf: [0.9258, 12.79, 19.69, 13.33, 14.39, 0.63],
    lightgcn: [0.9391, 15.98, 22.38, 16.68, 17.2, 0.86],
    ease: [0.857, 17.93, 25.41, 19.48, 19.55, 1.06],
    multvae: [0.9129, 15.36, 22.82, 16.17, 17.32, 0.87],
    "inf-ae": [0.9523, 23.56, 28.37, 24.94, 23.26, 1.28],
    "distill-inf-ae": [0.951, 22.98, 27.2, 24.2, 22.21, 1.24],
  }),
};
