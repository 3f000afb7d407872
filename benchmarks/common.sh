# Sourced by run-all.sh, head-to-head.sh and layers.sh, after they set $root and define log().

python=/usr/bin/python3  # Debian's python3-torch lives in the system interpreter
[ -x "$python" ] || python=python3

# export_onnx CASES_FILE DIR THREADS: PyTorch writes DIR/<case>.onnx for the model cases of
# CASES_FILE, with the input it used and its logits (ORT Java checks against them).
export_onnx() {
  OMP_NUM_THREADS=$3 "$python" "$root/benchmarks/peers/torch_bench.py" --threads "$3" \
      --cases "$1" --export-onnx "$2" --export-only
}

# benchmarks_jar: the path of benchmarks.jar (OrtBench), built first if it is missing.
benchmarks_jar() {
  local jar="$root/benchmarks/target/benchmarks.jar"
  if [ ! -f "$jar" ]; then
    log "building $jar"
    (cd "$root" && mvn -B -q -DskipTests package -pl benchmarks -am) >&2
  fi
  echo "$jar"
}

# require_models OUT THREADS CASE...: leaves in $models_dir the directory of the cases' ONNX
# graphs: the caller's --models-dir if it set one, else OUT/onnx, where PyTorch exports them
# first (OUT/cases.txt lists them); exits when neither is possible.
require_models() {
  local out=$1 threads=$2
  shift 2
  [ -n "$models_dir" ] && return 0
  models_dir="$out/onnx"
  "$python" -c 'import torch' 2>/dev/null || { log "no --models-dir and no PyTorch to export the models"; exit 1; }
  printf '%s\n' "$@" > "$out/cases.txt"
  log "PyTorch: exporting $* to ONNX ($models_dir)"
  export_onnx "$out/cases.txt" "$models_dir" "$threads" > "$out/onnx-export.txt" 2>&1 \
      || { log "ONNX export failed (see $out/onnx-export.txt)"; exit 1; }
}

# core_round_trip: ic-bench's core-to-core round trip (ns, two threads pinned to CPUs 0 and 1):
# ~150 ns in this VM's fast phases, ~450-530 ns in its slow ones, where anything that shares
# cache lines between the cores at a fine grain slows down (docs/BENCHMARKS.md, The machine);
# recorded per round so that rounds taken in different phases are not compared blindly. It
# does not see every slowdown: whole networks also drift by 10-15 % at the same round trip.
# Empty when ic-bench is not built or the machine has one CPU.
core_round_trip() {
  local bench="$root/native/target/cmake/bench/ic-bench"
  [ -x "$bench" ] || return 0
  "$bench" --suite targets --filter __no_case__ --peak-seconds 0.05 2>/dev/null \
      | sed -n 's/^# core-to-core round trip.*: \([0-9]*\) ns$/\1/p'
}

# alternate_rounds N OUT: the caller's invconv_round R and ort_round R for R = 1..N, each in its
# own process, the order swapped every round (on a drifting machine neither side always goes
# first); OUT/phase-R.txt gets the core round trip measured before round R.
alternate_rounds() {
  local r
  for r in $(seq 1 "$1"); do
    log "round $r of $1"
    core_round_trip > "$2/phase-$r.txt"
    if [ $((r % 2)) -eq 1 ]; then invconv_round "$r"; ort_round "$r"; else ort_round "$r"; invconv_round "$r"; fi
  done
}
