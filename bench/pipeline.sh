#!/usr/bin/env bash
# End-to-end pipeline throughput (issue 4): ingest LINES lines through
# `lognats serve` on the embedded server and time ingest-until-all-processed
# (every line mined, labelled and stored in RESULTS, counted by stats), next
# to the lines/s of merely reading and splitting the same file, measured in
# the same run. Reports the median of RUNS runs and serve's peak RSS.
#
# Usage: bench/pipeline.sh [RUNS]   (default 3)
# Env:   LINES (default 1000000), SOURCE (default workload: every line is mined),
#        LOGNATS_SHARED_DATA (default ../shared/data), LOGNATS_BIN
set -euo pipefail
runs=${1:-3}
lines=${LINES:-1000000}
source=${SOURCE:-workload}
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${LOGNATS_SHARED_DATA:-$repo/../shared/data}
tmp=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$tmp"' EXIT
cd "$repo"
go build -o "$tmp/parsespeed" ./bench/parsespeed
bin=${LOGNATS_BIN:-}
if [[ -z $bin ]]; then go build -o "$tmp/lognats" ./cmd/lognats; bin=$tmp/lognats; fi

# Corpus: the k8s files repeated (real Kubernetes lines), else Loghub, else generated.
k8s=$data/k8s-logs
if [[ -f $k8s/control-plane.log ]]; then
  while (( $(wc -l <"$tmp/corpus.log" 2>/dev/null || echo 0) < lines )); do
    cat "$k8s"/control-plane.log "$k8s"/rancher.log "$k8s"/longhorn.log "$k8s"/*-failures.log >>"$tmp/corpus.log"
  done
  head -n "$lines" "$tmp/corpus.log" >"$tmp/c" && mv "$tmp/c" "$tmp/corpus.log"
else
  "$tmp/parsespeed" -gen "$tmp/corpus.log" -src "$data/loghub-2k" -lines "$lines"
fi
n=$(wc -l <"$tmp/corpus.log")
echo "corpus: $n lines, $(du -h "$tmp/corpus.log" | cut -f1), source=$source"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
: >"$tmp/base"; : >"$tmp/e2e"; : >"$tmp/rss"
for i in $(seq "$runs"); do
  "$tmp/parsespeed" "$tmp/corpus.log" | sed -n 's/.*lines\/s=\([0-9.]*\).*/\1/p' >>"$tmp/base"
  d=$tmp/data-$i; np=$(port); hp=$(port)
  "$bin" serve --data "$d" --nats-listen 127.0.0.1:$np --http 127.0.0.1:$hp >"$tmp/serve-$i.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$hp/healthz" >/dev/null; do sleep 0.1; done
  start=$(date +%s.%N)
  wl=""; [[ $source == workload ]] && wl="--workload bench/app"
  "$bin" --data "$d" ingest --source "$source" $wl "$tmp/corpus.log" >/dev/null
  peak=0
  while :; do
    # Poll over HTTP with curl: spawning a lognats process per poll would
    # steal CPU from the pipeline being measured.
    p=$(curl -s "http://127.0.0.1:$hp/api/v1/status" | sed -n 's/.*"processed": \([0-9]*\).*/\1/p')
    p=${p:-0}
    r=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
    (( r > peak )) && peak=$r
    [[ $p -ge $n ]] && break
    sleep 0.1
  done
  end=$(date +%s.%N)
  echo "$n / ($end - $start)" | bc -l >>"$tmp/e2e"
  echo $((peak / 1024)) >>"$tmp/rss"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$d"
done
b=$(median <"$tmp/base"); e=$(median <"$tmp/e2e"); r=$(median <"$tmp/rss")
echo "baseline (read + split) lines/s, runs: $(tr '\n' ' ' <"$tmp/base")"
echo "end-to-end lines/s, runs:             $(xargs printf '%.0f ' <"$tmp/e2e")"
echo "serve peak RSS MiB, runs:             $(tr '\n' ' ' <"$tmp/rss")"
printf 'median: baseline %.0f lines/s, end-to-end %.0f lines/s (%.1f%% of baseline), peak RSS %s MiB\n' "$b" "$e" "$(echo "100*$e/$b" | bc -l)" "$r"
