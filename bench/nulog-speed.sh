#!/bin/sh
# Measures the nulog model (issue 5): training time for 100,000 realistic
# masked lines on all cores, and uncached / cached scoring throughput.
# Real log files are masked with lognats' masker and cycled to 100,000 lines
# (default: ../shared/data/k8s-logs, or $LOGNATS_SHARED_DATA/k8s-logs).
#
#   bench/nulog-speed.sh            # figures on real logs + go test benchmarks
#   bench/nulog-speed.sh FILE...    # your own log files
set -eu
cd "$(dirname "$0")/.."
go run ./bench/nulogspeed -lines 100000 -score 20000 "$@"
go test -run '^$' -bench 'Score' -benchtime 3x ./internal/nulog
