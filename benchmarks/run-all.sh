#!/usr/bin/env bash
# Runs invconv bench and its peers on the same cases with the same threads, one after the
# other, and collects everything into one markdown summary.
#
#   benchmarks/run-all.sh [--threads N] [--suite S] [--quick] [--no-java] [--winograd] [--out DIR]
#
#   invconv     ./invconv bench (Java API on the native library), with --compare-java unless --no-java,
#               with --winograd (the models' 3x3 stride-1 convolutions by Winograd) if given
#   oneDNN      benchmarks/peers/onednn_bench (Debian libdnnl-dev; built here)
#   PyTorch     benchmarks/peers/torch_bench.py (Debian python3-torch, /usr/bin/python3)
#   ORT Java    dev.invconv.benchmarks.OrtBench in benchmarks/target/benchmarks.jar
#
# The cases come from `invconv bench --list`, so every tool runs exactly the same problem
# strings. Model cases (suite models: resnet50_mb1ih224, ...) are whole networks: PyTorch builds
# them (torchvision ResNet, the official RedNet) and exports them to ONNX for ORT Java
# (onnx/<case>.onnx); oneDNN reports them n/a. Results go to benchmarks/target/results/<date>/
# (or --out): machine.txt, cases.txt, invconv.{txt,json,png}, onednn.tsv, torch.tsv, onnx/,
# ort.tsv, summary.md. A peer that is not installed is skipped with a note. Measure on a quiet
# machine: the load average is recorded before and after.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
threads=2 suite=all quick="" compare="--compare-java" winograd="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    --quick) quick="--quick"; shift ;;
    --no-java) compare=""; shift ;;
    --winograd) winograd="--winograd"; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-all: unknown argument $1" >&2; exit 2 ;;
  esac
done
out=${out:-$root/benchmarks/target/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
log() { echo "run-all: $*" >&2; }
. "$root/benchmarks/common.sh"

{
  echo "date:    $(date -Is)"
  echo "host:    $(uname -srm)"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core|Core\(s\) per socket|L1d|L2|L3|NUMA node\(s\))' | sed 's/  */ /g'
  echo "cache:   $(grep -m1 'cache size' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') per core (/proc/cpuinfo)"
  echo "flags:   $(grep -o -w -E 'avx512f|avx512bw|avx512vl|avx512_bf16|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  grep -q -w hypervisor /proc/cpuinfo && echo "virtual machine: yes (hypervisor flag)"
  echo "memory:  $(free -g | awk '/^Mem:/ {print $2 " GB"}')"
  echo "threads: $threads (every tool)"
  [ -n "$winograd" ] && echo "invconv: --winograd (models: Winograd 3x3 stride-1 convolutions)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"
log "results in $out (load $(cut -d' ' -f1-3 /proc/loadavg))"

# invconv: the launcher builds the tool on first use.
"$root/invconv" bench --suite "$suite" --list > "$out/cases.txt"
log "invconv bench ($(grep -vc '^#' "$out/cases.txt") cases)"
"$root/invconv" --threads "$threads" bench --suite "$suite" $quick $compare $winograd --json "$out/invconv.json" \
    | tee "$out/invconv.txt" || log "invconv bench exited with $? (a failed self-check?); continuing"

if [ -f /usr/include/oneapi/dnnl/dnnl.hpp ]; then
  log "oneDNN"
  bin=$("$root/benchmarks/peers/build-onednn-bench.sh")
  OMP_NUM_THREADS=$threads "$bin" --threads "$threads" $quick --cases "$out/cases.txt" > "$out/onednn.tsv" \
      || log "onednn_bench reported errors (see onednn.tsv)"
else
  log "oneDNN skipped: apt-get install libdnnl-dev"
fi

models=$(grep -cE '^(resnet|rednet)[0-9]+_mb[0-9]+ih[0-9]+$' "$out/cases.txt" || true)
if "$python" -c 'import torch' 2>/dev/null; then
  log "PyTorch"
  OMP_NUM_THREADS=$threads "$python" "$root/benchmarks/peers/torch_bench.py" --threads "$threads" $quick \
      --cases "$out/cases.txt" > "$out/torch.tsv" || log "torch_bench reported errors (see torch.tsv)"
  if [ "$models" -gt 0 ]; then
    log "PyTorch: exporting $models model(s) to ONNX for ORT Java ($out/onnx)"
    export_onnx "$out/cases.txt" "$out/onnx" "$threads" > "$out/onnx-export.txt" 2>&1 \
        || log "ONNX export reported errors (see onnx-export.txt); ORT Java reports those models n/a"
  fi
else
  log "PyTorch skipped: apt-get install python3-torch python3-torchvision"
  if [ "$models" -gt 0 ]; then log "no ONNX models without PyTorch: ORT Java reports the model cases n/a"; fi
fi

jar=$(benchmarks_jar)
java=$("$root/tools/find-jdk.sh")
log "ONNX Runtime Java"
"$java" --enable-native-access=ALL-UNNAMED -cp "$jar" dev.invconv.benchmarks.OrtBench --threads "$threads" $quick \
    --models-dir "$out/onnx" --cases "$out/cases.txt" > "$out/ort.tsv" || log "OrtBench reported errors (see ort.tsv)"

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
"$python" "$root/benchmarks/peers/collect.py" "$out" > "$out/summary.md"
log "summary: $out/summary.md"
cat "$out/summary.md"
