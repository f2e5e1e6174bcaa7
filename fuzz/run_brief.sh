#!/bin/sh
# run_brief.sh <fuzz binary> <corpus dir> <artifact dir> <seconds>
# Runs a libFuzzer target from its committed corpus for a few seconds. New inputs go to a
# temporary directory (the committed corpus stays as it is); a crashing input is written to
# <artifact dir>/<target>-crash-<sha1> and the exit status is non-zero.
set -eu
binary=$1 corpus=$2 artifacts=$3 seconds=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$binary")-" "$work" "$corpus"
