#!/usr/bin/env bash
# Two builds of invconv against each other on a drifting machine: the native benches of two
# commits (Release, each built from its own worktree), run in alternating rounds, each in its
# own process, the order swapped every round. This is how docs/BENCHMARKS.md takes the numbers
# it gives as "alternating A and B": this VM drifts by 5-15 % within minutes, more than most
# changes are worth, so a change is only measured against its base in the same minutes.
#
#   benchmarks/alternate.sh [--rounds N] [--out DIR] A B -- BENCH [ARGS...]
#
#   A, B      commits (anything git rev-parse takes)
#   BENCH     ic-bench, ic-bench-resnet50 or ic-bench-involution; ARGS are its own
#   --rounds  rounds (default 4); --out: where the builds and the outputs go (default
#             benchmarks/target/results/alternate-<date>)
#
# Prints a markdown table: per time the bench prints (ic-bench and ic-bench-involution: each
# case's median; ic-bench-resnet50: the pass mean and, with --per-layer, each layer's mean),
# the mean over the rounds for A and for B, the difference, and every round's value.
#
#   benchmarks/alternate.sh 6bafc90 cadd0bd -- ic-bench-resnet50 --threads 2 --passes 30 \
#       --model rednet50 --per-layer
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
rounds=4 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "alternate: unknown argument $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 4 ] || [ "$3" != "--" ]; then
  echo "usage: benchmarks/alternate.sh [--rounds N] [--out DIR] A B -- BENCH [ARGS...]" >&2
  exit 2
fi
commit_a=$1 commit_b=$2 bench=$4
shift 4
case "$bench" in
  ic-bench|ic-bench-resnet50|ic-bench-involution) ;;
  *) echo "alternate: BENCH is ic-bench, ic-bench-resnet50 or ic-bench-involution, not $bench" >&2
     exit 2 ;;
esac
out=${out:-$root/benchmarks/target/results/alternate-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
log() { echo "alternate: $*" >&2; }

# build COMMIT: builds COMMIT's native benches in $out/build-<sha> from a worktree that is
# removed afterwards (the binaries find libinvconv in their build tree); prints the bench dir.
build() {
  local sha tree
  sha=$(git -C "$root" rev-parse --verify --short=12 "$1^{commit}") \
      || { log "not a commit: $1"; exit 2; }
  tree="$out/src-$sha"
  if [ ! -x "$out/build-$sha/bench/$bench" ]; then
    log "building $1 ($sha)"
    git -C "$root" worktree add --quiet --detach "$tree" "$sha"
    cmake -S "$tree/native" -B "$out/build-$sha" -DCMAKE_BUILD_TYPE=Release > "$out/cmake-$sha.txt"
    cmake --build "$out/build-$sha" -j "$(nproc)" --target "$bench" >> "$out/cmake-$sha.txt"
    git -C "$root" worktree remove --force "$tree"
  fi
  echo "$out/build-$sha/bench"
}
dir_a=$(build "$commit_a")
dir_b=$(build "$commit_b")

# times FILE: "key value" per time in a bench's output.
times() {
  case "$bench" in
    ic-bench) # the shape is three words, four for a depthwise case ("... dw")
      awk '$1 !~ /^#/ && $1 != "case" { m = $5 == "dw" ? $6 : $5; if (m ~ /^[0-9.]+$/) print $1, m }' "$1" ;;
    ic-bench-involution) awk '$4 ~ /^[0-9.]+$/ && $1 != "op" {print $1 "/" $2, $4}' "$1" ;;
    ic-bench-resnet50)
      awk '$1 == "pass" {print "pass", $3} $1 != "pass" && NF == 3 && $3 == "ms" {print $1, $2}' "$1" ;;
  esac
}

for r in $(seq 1 "$rounds"); do
  log "round $r of $rounds"
  if [ $((r % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
  for side in $order; do
    if [ "$side" = a ]; then dir=$dir_a; else dir=$dir_b; fi
    "$dir/$bench" "$@" > "$out/$side-$r.txt" 2>&1
    times "$out/$side-$r.txt" > "$out/$side-$r.times"
  done
done

echo "| time | $commit_a ms | $commit_b ms | difference | rounds ($commit_a; $commit_b) |"
echo "|---|---:|---:|---:|---|"
for r in $(seq 1 "$rounds"); do
  sed "s/^/a /" "$out/a-$r.times"
  sed "s/^/b /" "$out/b-$r.times"
done | awk '
  !($2 in seen) { seen[$2] = 1; order[++n] = $2 }
  { sum[$1, $2] += $3; count[$1, $2]++; list[$1, $2] = list[$1, $2] (list[$1, $2] == "" ? "" : " ") $3 }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]
      if (count["a", k] == 0 || count["b", k] == 0) continue
      a = sum["a", k] / count["a", k]; b = sum["b", k] / count["b", k]
      printf "| %s | %.4f | %.4f | %+.4f (%+.1f %%) | %s; %s |\n", k, a, b, b - a, 100 * (b - a) / a,
             list["a", k], list["b", k]
    }
  }'
log "outputs in $out"
