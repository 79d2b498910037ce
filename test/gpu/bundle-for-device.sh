#!/usr/bin/env bash
# Packs the GPU checks for a machine that has a GPU but no npm registry (the lent device):
# a CUDA build of the addon, test/gpu/run.ts bundled into one .mjs, and this machine's node
# binary (xz-compressed). On the GPU machine, from the repository root:
#   cd .device && python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('node.xz'),open('node','wb'))" \
#     && chmod +x node && GLUONPS_ADDON=$PWD/gluonps.node ./node run.mjs
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.device}
mkdir -p "$out"
cd "$root"
npm run build:cuda
cp native/build/Release/gluonps.node "$out/gluonps.node"
npx esbuild test/gpu/run.ts --bundle --platform=node --format=esm --target=node20 --outfile="$out/run.mjs" --log-level=warning
xz -T0 -6 -c "$(command -v node)" > "$out/node.xz"
npm run build:native  # back to the CPU build for local work
echo "packed into $out"
