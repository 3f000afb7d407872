#!/usr/bin/env bash
# ResNet-50 layer by layer: invconv's C pass (ic-bench-resnet50 --per-layer, NHWC, direct)
# against ONNX Runtime Java's own node profile of the same network (OrtBench --node-profile),
# in alternating rounds, each in its own process. Both are means over the passes of a round,
# taken inside a whole pass (so with the caches a network leaves), and per layer the median of
# the rounds. ORT runs its NCHWc graph with ReLU and the residual add fused into its Conv
# nodes, as invconv fuses them into its convolutions.
#
#   benchmarks/layers.sh [--rounds N] [--threads N] [--passes N] [--seconds S]
#                        [--models-dir DIR] [--out DIR]
#
#   --rounds      rounds (default 3); --threads: both sides (default 2)
#   --passes      invconv passes per round (default 100); --seconds: ORT's timed seconds per
#                 round (default 3)
#   --models-dir  resnet50_mb1ih224.onnx (a run-all.sh result's onnx/); without it Debian's
#                 PyTorch (python3-torch, python3-torchvision) exports it into the output dir first
#
# Prints a markdown table: each layer's ms on both sides and the difference, then the sums
# by kind of layer (stem, 1x1 reduce / 3x3 / 1x1 expand with the residual / projection per
# stage, pools, fc). Results go to benchmarks/target/results/layers-<date>/ (or --out).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
rounds=3 threads=2 passes=100 seconds=3 models_dir="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --passes) passes=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --models-dir) models_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "layers: unknown argument $1" >&2; exit 2 ;;
  esac
done
out=${out:-$root/benchmarks/target/results/layers-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
log() { echo "layers: $*" >&2; }
. "$root/benchmarks/common.sh"

case_name=resnet50_mb1ih224
bench="$root/native/target/cmake/bench/ic-bench-resnet50"
if [ ! -x "$bench" ]; then
  log "building the native library and its benches (mvn package -pl native)"
  (cd "$root" && mvn -B -q -DskipTests package -pl native) >&2
fi
require_models "$out" "$threads" "$case_name"
jar=$(benchmarks_jar)
java=$("$root/tools/find-jdk.sh")

echo "date: $(date -Is)  threads: $threads  rounds: $rounds  load before: $(cut -d' ' -f1-3 /proc/loadavg)" \
    > "$out/machine.txt"
invconv_round() {
  "$bench" --threads "$threads" --passes "$passes" --per-layer > "$out/invconv-$1.txt"
}
ort_round() {
  mkdir -p "$out/ort-$1"
  "$java" --enable-native-access=ALL-UNNAMED -cp "$jar" dev.invconv.benchmarks.OrtBench \
      --threads "$threads" --seconds "$seconds" --models-dir "$models_dir" \
      --node-profile "$out/ort-$1" "$case_name" > "$out/ort-$1.tsv"
}
alternate_rounds "$rounds" "$out"

"$python" "$root/benchmarks/peers/layers.py" "$out" "$rounds" "$case_name" | tee "$out/summary.md"
log "results in $out"
