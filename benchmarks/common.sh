# Sourced by run-all.sh and head-to-head.sh, after they set $root and define log().

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
