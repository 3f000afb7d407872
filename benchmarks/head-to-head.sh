#!/usr/bin/env bash
# invconv against ONNX Runtime Java on whole networks, in alternating rounds: each round times
# every case in invconv (./invconv bench --case) and in ORT Java (OrtBench), each in its own
# process, the two in turn and the order swapped every round. On a shared machine the speed
# drifts by 10-20 % within minutes (see docs/BENCHMARKS.md, The machine); one run of each,
# minutes apart, can show either side ahead. Rounds side by side show how often each is.
#
#   benchmarks/head-to-head.sh [--rounds N] [--seconds S] [--threads N] [--winograd]
#                              [--models-dir DIR] [--out DIR] [CASE...]
#
#   CASE          model cases (default: resnet50_mb1ih224 rednet50_mb1ih224)
#   --rounds      rounds (default 5); --seconds: timed seconds per case and side (default 3)
#   --winograd    invconv builds the models' 3x3 stride-1 convolutions with Winograd
#   --models-dir  the ONNX graphs (a run-all.sh result's onnx/); without it Debian's PyTorch
#                 (python3-torch, python3-torchvision) exports them into the output directory first
#
# Prints a markdown table: each round's medians (ms) and ORT / invconv (above 1: invconv is
# faster), then per case the median of each side's medians, the median ratio and the rounds
# invconv won. Results go to benchmarks/target/results/head-to-head-<date>/ (or --out).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
rounds=5 seconds=3 threads=2 winograd="" models_dir="" out="" cases=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --winograd) winograd="--winograd"; shift ;;
    --models-dir) models_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "head-to-head: unknown option $1" >&2; exit 2 ;;
    *) cases+=("$1"); shift ;;
  esac
done
[ ${#cases[@]} -gt 0 ] || cases=(resnet50_mb1ih224 rednet50_mb1ih224)
for c in "${cases[@]}"; do
  [[ "$c" =~ ^(resnet|rednet)[0-9]+_mb1ih[0-9]+$ ]] || { echo "head-to-head: $c is not a model case" >&2; exit 2; }
done
out=${out:-$root/benchmarks/target/results/head-to-head-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
log() { echo "head-to-head: $*" >&2; }
. "$root/benchmarks/common.sh"

require_models "$out" "$threads" "${cases[@]}"
jar=$(benchmarks_jar)
java=$("$root/tools/find-jdk.sh")
case_args=()
for c in "${cases[@]}"; do case_args+=(--case "$c"); done

{
  echo "date: $(date -Is)  threads: $threads  seconds: $seconds  rounds: $rounds  invconv: ${winograd:-direct}"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"
invconv_round() {
  "$root/invconv" --threads "$threads" bench "${case_args[@]}" --seconds "$seconds" $winograd \
      --json "$out/invconv-$1.json" > "$out/invconv-$1.txt"
}
ort_round() {
  "$java" --enable-native-access=ALL-UNNAMED -cp "$jar" dev.invconv.benchmarks.OrtBench \
      --threads "$threads" --seconds "$seconds" --models-dir "$models_dir" "${cases[@]}" > "$out/ort-$1.tsv"
}
alternate_rounds "$rounds" "$out"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"

"$python" - "$root/benchmarks/peers" "$out" "$rounds" "${cases[@]}" <<'EOF' | tee "$out/summary.md"
import json, statistics, sys
sys.path.insert(0, sys.argv[1])
from collect import read_peer, read_round_trip  # run-all.sh's readers
out, rounds, cases = sys.argv[2], int(sys.argv[3]), sys.argv[4:]
def invconv(r):
    with open(f"{out}/invconv-{r}.json") as f:
        return {o["name"]: o["median_ms"] for o in json.load(f)}
def ort(r):
    return read_peer(f"{out}/ort-{r}.tsv")[0] or {}  # n/a cases: None (the reason is in the file)
print(open(f"{out}/machine.txt").read().strip().replace("\n", "; "), "\n")
print("| round | core round trip ns | case | invconv ms | ORT Java ms | ORT / invconv |")
print("|---:|---:|---|---:|---:|---:|")
rows = {c: [] for c in cases}
for r in range(1, rounds + 1):
    a, b, trip = invconv(r), ort(r), read_round_trip(out, r)
    for c in cases:
        x, y = a.get(c), b.get(c)
        if x is None or y is None:
            print(f"| {r} | {trip} | {c} | {x if x else 'n/a'} | {y if y else 'n/a'} | - |")
            continue
        rows[c].append((x, y))
        print(f"| {r} | {trip} | {c} | {x:.2f} | {y:.2f} | {y / x:.2f} |")
print("\n| case | invconv ms (median of rounds) | ORT Java ms | median ORT / invconv | rounds invconv faster |")
print("|---|---:|---:|---:|---:|")
for c in cases:
    if not rows[c]:
        print(f"| {c} | n/a | n/a | - | - |"); continue
    xs, ys = [x for x, _ in rows[c]], [y for _, y in rows[c]]
    ratio = statistics.median(y / x for x, y in rows[c])
    wins = sum(1 for x, y in rows[c] if x < y)
    print(f"| {c} | {statistics.median(xs):.2f} | {statistics.median(ys):.2f} | {ratio:.2f} | {wins} of {len(rows[c])} |")
EOF
log "results in $out"
