#!/usr/bin/env bash
# One device call on the lent GPU machine (run there from the project root, after
# scripts/gpu-bundle.sh built .gpu/ here): the shared harness's steps, then infrec's own
# benches; everything lands in $OUT/results.tar.xz (the device tool brings back only a few
# files) and a digest is printed. Used for the H200 numbers in docs/onnx-runtime.md.
#
#   STEPS_H='torch infae-cpu infae-webgpu ease-webgpu numpy-peer' DO='ev-webgpu cf-webgpu cf-cpu' bash scripts/gpu-call.sh
#
# STEPS_H: the harness's steps (.gpu/run.sh; default 'infae-webgpu ease-webgpu infae-cpu'),
# STEPS_D: outer steps of each distill bench (default 4; the mean leaves out the first),
# BUDGET_H its time budget (150 s). DO, in order, any of:
#   fill            first-touch cost of a fresh 90 MB Float32Array (page faults)
#   ev-webgpu, ev-ease-webgpu, ev-cpu   `infrec evaluate` once more (∞-AE / EASE, ML-1M, test)
#   cf-webgpu       bench/closed-form.ts, device engine on WebGPU (∞-AE and EASE phases)
#   cf-cpu, cf-cpu-b128, cf-cpu-ahead   the host engine on all cores (block 256; 128; look-ahead)
#   distill-webgpu, distill-cpu, distill-webgpu-regen   bench/distill.ts, 16 workers (regen: noise not stored)
#   distill-dev, distill-dev-b1, distill-dev-regen   bench/distill.ts with the sampling on the GPU (noise stored; block 6040; noise drawn again)
#   prof-webgpu, prof-distill, prof-distill-dev   CPU profiles (main thread) of an ∞-AE evaluate / four distill steps
#   full-distill    `infrec distill` on ML-1M with the defaults on WebGPU (cap FULL_S, 290 s; sampling on the GPU since --sampling auto)
set -u
R=$(pwd)
O=${OUT:-/tmp/out}
mkdir -p "$O"
X=$(mktemp -d)
STEPS="${STEPS_H:-infae-webgpu ease-webgpu infae-cpu}" BUDGET_S=${BUDGET_H:-150} OUT="$X/run" bash .gpu/run.sh > "$X/run.txt" 2>&1
cp "$X"/run/*.json "$X"/run/run.log "$X/" 2>/dev/null
W=/tmp/infrec-gpu
N=$W/bin/node
I=$W/infrec
for f in closed-form distill; do xz -dc "$R/.gpu/$f.mjs.xz" > "$I/$f.mjs"; done
cd "$I" || exit 1
export INFREC_DATA=$R/.gpu/data
{ nproc; lscpu | grep -E "Model name|^CPU\(s\)"; free -g | head -2; } > "$X/machine.txt" 2>&1
# t NAME LIMIT CMD…: runs CMD under a timeout, stdout to NAME.json, stderr to NAME.err.
t() {
  local name=$1 lim=$2
  shift 2
  local s
  s=$(date +%s%N)
  timeout -k 5 "$lim" "$@" > "$X/$name.json" 2> "$X/$name.err"
  echo "$name rc=$? wall=$((($(date +%s%N) - s) / 1000000)) ms" >> "$X/bench.txt"
}
closedForm() { # NAME [env…]: bench/closed-form.ts phases into the digest
  python3 -c "
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    for r in d['results']:
        print(sys.argv[2], r['model'], round(r['totalSeconds'], 2), {p['phase']: round(p['seconds'], 2) for p in r['phases']}, 'NDCG@10', round(r['test']['NDCG@10'], 4))
except Exception as e:
    print(sys.argv[2], 'ERR', e)
" "$X/$1.json" "$1" >> "$X/digest.txt"
}
stepMeans() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print(sys.argv[2], d['meanAfterFirst'], 'peak RSS MB', d['peakRssMb'])" "$X/$1.json" "$1" >> "$X/digest.txt" 2>&1; }
seconds() { grep '"seconds"' "$X/$1.json" | sed "s/^/$1 /" >> "$X/digest.txt"; }
CF=(closed-form.mjs --data-dir "$R/.gpu/data" --json)
EV=(infrec.mjs evaluate --dataset ml-1m --split test --json)
BD=(distill.mjs --threads 16 --workers 16 --steps "${STEPS_D:-4}" --json)
for d in ${DO:-}; do
  case $d in
    fill) t fill 30 "$N" -e 'for (let r = 0; r < 3; r++) { const t = performance.now(); new Float32Array(6040 * 3706).fill(0); console.log("fill 90 MB", (performance.now() - t).toFixed(1), "ms"); }' ;;
    ev-webgpu) t ev-webgpu 60 "$N" "${EV[@]}" --model inf-ae --device webgpu; seconds ev-webgpu ;;
    ev-ease-webgpu) t ev-ease-webgpu 60 "$N" "${EV[@]}" --model ease --device webgpu; seconds ev-ease-webgpu ;;
    ev-cpu) t ev-cpu 60 "$N" "${EV[@]}" --model inf-ae --device cpu; seconds ev-cpu ;;
    cf-webgpu) t cf-webgpu 90 "$N" "${CF[@]}" --models inf-ae,ease --device webgpu --engine device; closedForm cf-webgpu ;;
    cf-cpu) t cf-cpu 90 "$N" "${CF[@]}" --models inf-ae --device cpu --engine host; closedForm cf-cpu ;;
    cf-cpu-b128) INFREC_HOST_BLOCK=128 t cf-cpu-b128 90 "$N" "${CF[@]}" --models inf-ae --device cpu --engine host; closedForm cf-cpu-b128 ;;
    cf-cpu-ahead) INFREC_HOST_LOOKAHEAD=1 t cf-cpu-ahead 90 "$N" "${CF[@]}" --models inf-ae --device cpu --engine host; closedForm cf-cpu-ahead ;;
    distill-webgpu) t distill-webgpu 120 "$N" "${BD[@]}" --device webgpu; stepMeans distill-webgpu ;;
    distill-cpu) t distill-cpu 120 "$N" "${BD[@]}" --device cpu; stepMeans distill-cpu ;;
    distill-webgpu-regen) t distill-webgpu-regen 120 "$N" "${BD[@]}" --device webgpu --store-noise-mb 0; stepMeans distill-webgpu-regen ;;
    distill-dev) t distill-dev 120 "$N" "${BD[@]}" --device webgpu --sampling device; stepMeans distill-dev ;;
    distill-dev-regen) t distill-dev-regen 120 "$N" "${BD[@]}" --device webgpu --sampling device --store-noise-mb 0; stepMeans distill-dev-regen ;;
    distill-dev-b1) t distill-dev-b1 120 "$N" "${BD[@]}" --device webgpu --sampling device --batch-block 6040; stepMeans distill-dev-b1 ;;
    prof-webgpu) mkdir -p "$X/prof-webgpu"; t prof-webgpu 60 "$N" --cpu-prof --cpu-prof-dir="$X/prof-webgpu" "${EV[@]}" --model inf-ae --device webgpu ;;
    prof-distill) mkdir -p "$X/prof-distill"; t prof-distill 90 "$N" --cpu-prof --cpu-prof-dir="$X/prof-distill" "${BD[@]}" --device webgpu; find "$X/prof-distill" -name '*.cpuprofile' ! -name '*.0.001.cpuprofile' -delete ;;
    prof-distill-dev) mkdir -p "$X/prof-distill-dev"; t prof-distill-dev 90 "$N" --cpu-prof --cpu-prof-dir="$X/prof-distill-dev" "${BD[@]}" --device webgpu --sampling device --batch-block 6040; find "$X/prof-distill-dev" -name '*.cpuprofile' ! -name '*.0.001.cpuprofile' -delete ;;
    full-distill) INFREC_ORT_STATS_EVERY=0 t full-distill "${FULL_S:-290}" "$N" infrec.mjs distill --dataset ml-1m --device webgpu --evaluate --json --out "$X/ml-1m.infrec-summary"
      tail -c 2500 "$X/full-distill.err" >> "$X/digest.txt"; rm -f "$X/ml-1m.infrec-summary" ;;
    *) echo "unknown DO item '$d'" >> "$X/bench.txt" ;;
  esac
done
sed -n '/======== summary/,$p' "$X/run.log" 2>/dev/null
cat "$X/machine.txt" "$X/bench.txt" "$X/digest.txt" 2>/dev/null
cat "$X/fill.json" 2>/dev/null
python3 -c "
import json
d = json.load(open('$X/summary.json'))
for k, v in d['steps'].items():
    s = v.get('ort_stats') or {}
    r = v.get('result') or {}
    print(k, r.get('seconds', r.get('protocol_s')), {x: s.get(x) for x in ['ort_run_s', 'ort_runs', 'ort_create_s', 'ort_creates', 'outside_ort_s']}, v.get('error'))
" 2>/dev/null
tar -C "$X" -cJf "$O/results.tar.xz" . && ls -la "$O"
