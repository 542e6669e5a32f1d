#!/usr/bin/env bash
# Accuracy of every model on the development data in ../shared/data (see docs/forecasting.md):
# builds the evaluation sets (tools/forecast_series.py), then runs foreshard-forecast --eval
# once per model and set and prints each accuracy table (sMAPE, MASE, OWA, coverage, MSIS).
#
# usage: tools/forecast_eval.sh [BUILD_DIR] [MODELS...]
#        BUILD_DIR defaults to build; MODELS to "snaive ets arima prophet lstm auto".
# FS_DATA overrides the data directory (default ../shared/data from the source tree).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
shift || true
models=${*:-snaive ets arima prophet lstm auto}
data=${FS_DATA:-$src/../shared/data}
cli=$build/foreshard-forecast
[ -x "$cli" ] || { echo "forecast_eval: $cli is missing; run make first" >&2; exit 2; }
[ -d "$data" ] || { echo "forecast_eval: no data directory $data (set FS_DATA)" >&2; exit 2; }

sets=$(mktemp -d)
trap 'rm -rf "$sets"' EXIT
python3 "$src/tools/forecast_series.py" "$data" "$sets" > "$sets/index"
while read -r name horizon seasons; do
	season_opts=""
	for s in $seasons; do season_opts="$season_opts --season $s"; done
	for model in $models; do
		start=$EPOCHREALTIME
		# shellcheck disable=SC2086 # season_opts is a list of options
		"$cli" --model "$model" --horizon "$horizon" $season_opts \
			--eval "$sets/$name.test.csv" < "$sets/$name.train.csv" \
			> /dev/null 2> "$sets/report"
		secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
		echo "== $name (horizon $horizon, seasons $seasons) model $model: ${secs}s"
		grep -v "cannot fit" "$sets/report" || true
	done
done < "$sets/index"
