#!/usr/bin/env bash
# Builds benchmarks/peers/onednn_bench against Debian's oneDNN (apt-get install libdnnl-dev).
# Output: benchmarks/target/peers/onednn_bench. No -march=native: oneDNN dispatches by cpuid itself.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../target/peers"
mkdir -p "$out"
if ! [ -f /usr/include/oneapi/dnnl/dnnl.hpp ]; then
    echo "build-onednn-bench: oneDNN headers not found; install them: apt-get install libdnnl-dev" >&2
    exit 1
fi
"${CXX:-g++}" -O2 -std=c++17 -fopenmp -Wall -Wextra -o "$out/onednn_bench" "$here/onednn_bench.cpp" -ldnnl
echo "$out/onednn_bench"
