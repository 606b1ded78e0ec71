#!/usr/bin/env bash
# Builds .gpu/ for a device call (../shared/gpu/README.md): the shared harness's bundle, built
# from a patched copy of ../shared/gpu (the CLI bundle leaves @duckdb/node-api out, as
# scripts/build.ts does, and the worker modules infrec starts by URL go beside it), plus
# bench/closed-form.ts and bench/distill.ts bundled and xz-compressed for scripts/gpu-call.sh.
#
#   bash scripts/gpu-bundle.sh          # from the project root; then the device call:
#   command 'STEPS_H="…" DO="…" bash scripts/gpu-call.sh', carry [".gpu"] (see gpu-call.sh)
#
# Env: GPU_HARNESS (default ../shared/gpu), and the harness's own (GPU_DATASETS, …). The data
# sets other than ML-1M are dropped from .gpu/ to stay well inside the 64 MiB a call carries.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${GPU_HARNESS:-$ROOT/../shared/gpu}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp -r "$SHARED/." "$TMP/"
chmod -R u+w "$TMP"
python3 - "$TMP/build-bundle.sh" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
line = '--outfile="$B/infrec.mjs" --external:onnxruntime-node --external:onnxruntime-web \\'
if "@duckdb/node-api" not in s:
    assert line in s, "build-bundle.sh changed: the CLI's esbuild line was not found"
    s = s.replace(line, line[:-1] + "--external:@duckdb/node-api \\")
anchor = 'cp "$SRC/models/matmul.onnx" "$B/models/"'
workers = '''# The worker modules infrec starts by URL, beside the bundle (as scripts/build.ts puts them in dist/).
for w in lib/linalg/block-factor-worker.ts lib/linalg/item-gram-worker.ts lib/distill/sample-worker.ts; do
  "$SRC/node_modules/.bin/esbuild" "$SRC/$w" --bundle --platform=node --format=esm --target=node20 \\
    --outfile="$B/$(basename "$w" .ts).js" --external:onnxruntime-node --external:onnxruntime-web --external:@duckdb/node-api --log-level=warning
done
'''
if "block-factor-worker" not in s:
    assert anchor in s, "build-bundle.sh changed: the models copy line was not found"
    s = s.replace(anchor, workers + anchor)
open(p, "w").write(s)
EOF
(cd "$ROOT" && bash "$TMP/build-bundle.sh")
cd "$ROOT"
for b in closed-form distill; do
  node_modules/.bin/esbuild "bench/$b.ts" --bundle --platform=node --format=esm --target=node20 --outfile=".gpu/$b.mjs" \
    --external:onnxruntime-node --external:onnxruntime-web --external:@duckdb/node-api --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  rm -f ".gpu/$b.mjs.xz"
  xz -6 ".gpu/$b.mjs"
done
find .gpu/data -mindepth 1 -maxdepth 1 -type d ! -name ml-1m -exec rm -rf {} +
echo "== .gpu: $(du -sm .gpu | cut -f1) MiB; call: 'bash scripts/gpu-call.sh', carry [\".gpu\"]"
