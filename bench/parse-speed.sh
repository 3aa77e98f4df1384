#!/usr/bin/env bash
# Template-mining speed (issue 3): in one run, compare a baseline that only
# reads the corpus and splits lines on white space with `lognats parse
# --quiet` (default masking and Drain settings), both on one core
# (GOMAXPROCS=1), and print the median lines/s of RUNS runs and their ratio.
#
# Usage: bench/parse-speed.sh [RUNS]   (default 5)
# Env:   LOGNATS_SHARED_DATA  data folder (default ../shared/data beside the repo)
#        LOGNATS_BIN          a lognats binary to use instead of building ./cmd/lognats
#        LINES                corpus size (default 1000000)
set -euo pipefail
runs=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${LOGNATS_SHARED_DATA:-$repo/../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$repo"
go build -o "$tmp/parsespeed" ./bench/parsespeed
bin=${LOGNATS_BIN:-}
if [[ -z $bin ]]; then
  go build -o "$tmp/lognats" ./cmd/lognats
  bin=$tmp/lognats
fi
"$tmp/parsespeed" -gen "$tmp/corpus.log" -src "$data/loghub-2k" -lines "${LINES:-1000000}"
echo "corpus: $(wc -l <"$tmp/corpus.log") lines, $(du -h "$tmp/corpus.log" | cut -f1)"

rate() { sed -n 's/.*lines\/s=\([0-9.]*\).*/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

: >"$tmp/base" ; : >"$tmp/parse"
for i in $(seq "$runs"); do
  GOMAXPROCS=1 "${pin[@]}" "$tmp/parsespeed" "$tmp/corpus.log" | rate >>"$tmp/base"
  GOMAXPROCS=1 "${pin[@]}" "$bin" parse --quiet "$tmp/corpus.log" | rate >>"$tmp/parse"
done
b=$(median <"$tmp/base"); p=$(median <"$tmp/parse")
echo "baseline (read + split) lines/s, runs: $(tr '\n' ' ' <"$tmp/base")"
echo "lognats parse --quiet   lines/s, runs: $(tr '\n' ' ' <"$tmp/parse")"
awk -v b="$b" -v p="$p" 'BEGIN {printf "median baseline %.0f lines/s, median parse %.0f lines/s, ratio of medians %.1f%% (target >= 25%%)\n", b, p, 100*p/b}'
# Each run pairs a baseline and a parse run taken back to back; on a shared
# machine the median of these paired ratios is the steadier figure.
paste "$tmp/base" "$tmp/parse" | awk '{print 100*$2/$1}' | median | awk '{printf "median of paired per-run ratios %.1f%%\n", $1}'
