#!/usr/bin/env bash
# Benchmark: the forecast engine against R's forecast package, speed and accuracy, in one
# invocation. Not part of the test suite.
#
#   bash bench/forecast.sh [BUILD_DIR]   (default: build-release; needs foreshard-forecast and
#                                         bench/fs-forecast-update built there)
#
# 1. Generates BENCH_SERIES synthetic load series of BENCH_LENGTH points with a daily season of
#    24 and the next 24 true values (bench/forecast_series.py; fixed seed).
# 2. Times foreshard-forecast --model ets, --model arima and --model auto on all of them, on one
#    core (one process, one thread) and prints its accuracy table (--eval).
# 3. Times R's ets() and auto.arima() (Debian's r-cran-forecast, installed when missing) on the
#    first BENCH_R_SERIES series (R takes seconds per series), and scores R's and foreshard's
#    forecasts of those same series with the same R code (bench/forecast_r.R).
# 4. Times the forecast thread's per-window work on every series: one new value absorbed
#    (update) and update plus a fresh 24-step forecast with 80/95% intervals
#    (bench/fs-forecast-update), for ETS and for the automatic choice.
# Prints a table with the ratios R / foreshard (time per series; > 1 = foreshard faster) and, as
# its last line, one JSON object:
#   {"bench": "forecast", "series", "length", "season", "horizon", "r_series",
#    "fs": {"ets": {"s_per_series", "smape", "mase"}, "arima": {...}, "auto": {...}},
#    "fs_on_r_subset": {...}, "r": {"ets": {...}, "auto.arima": {...}},
#    "speedup_ets", "speedup_arima", "update": {"ets": {"update_us_per_1000",
#    "update_forecast_us_per_1000"}, "auto": {...}}}
#
# Environment (all optional):
#   BENCH_SERIES=10000  BENCH_LENGTH=1000  BENCH_R_SERIES=20  BENCH_WINDOWS=20
#   BENCH_KEEP=1        keep the temporary directory
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$src/build-release}" && pwd)
series=${BENCH_SERIES:-10000}
length=${BENCH_LENGTH:-1000}
r_series=${BENCH_R_SERIES:-20}
windows=${BENCH_WINDOWS:-20}
season=24
horizon=24
cli=$build/foreshard-forecast
upd=$build/bench/fs-forecast-update
for b in "$cli" "$upd"; do
	[ -x "$b" ] || { echo "bench: $b is missing; build with cmake --build $build" >&2; exit 2; }
done
if ! Rscript -e 'library(forecast)' > /dev/null 2>&1; then
	echo "bench: installing r-cran-forecast (R's forecast package)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		r-cran-forecast > /dev/null
fi

tmp=$(mktemp -d)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
echo "bench: generating $series series of $length points (season $season)" >&2
python3 "$src/bench/forecast_series.py" "$series" "$length" "$season" "$horizon" 7 "$tmp/set"
head -n "$r_series" "$tmp/set.train.csv" > "$tmp/sub.train.csv"
head -n "$r_series" "$tmp/set.test.csv" > "$tmp/sub.test.csv"

# seconds and the overall sMAPE/MASE of one foreshard-forecast run
declare -A fs_s fs_smape fs_mase sub_s
run_fs() { # model input-prefix out-file
	local start end
	start=$EPOCHREALTIME
	taskset -c 0 "$cli" --model "$1" --season $season --horizon $horizon \
		--eval "$tmp/$2.test.csv" < "$tmp/$2.train.csv" > "$3" 2> "$tmp/eval.txt"
	end=$EPOCHREALTIME
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
for model in ets arima auto; do
	echo "bench: foreshard-forecast --model $model on $series series" >&2
	t=$(run_fs $model set "$tmp/fs_$model.csv")
	fs_s[$model]=$(awk -v t="$t" -v n="$series" 'BEGIN { printf "%.6f", t / n }')
	fs_smape[$model]=$(awk '$1 == "overall" { print $3 }' "$tmp/eval.txt")
	fs_mase[$model]=$(awk '$1 == "overall" { print $4 }' "$tmp/eval.txt")
	echo "-- foreshard $model: accuracy on all $series series" >&2
	cat "$tmp/eval.txt" >&2
	t=$(run_fs $model sub "$tmp/fs_sub_$model.csv")
	sub_s[$model]=$(awk -v t="$t" -v n="$r_series" 'BEGIN { printf "%.6f", t / n }')
done

echo "bench: R ets() and auto.arima() on $r_series series" >&2
taskset -c 0 Rscript "$src/bench/forecast_r.R" "$tmp/sub.train.csv" "$tmp/sub.test.csv" \
	"$r_series" $season $horizon "$tmp/fs_sub_ets.csv" "$tmp/fs_sub_arima.csv" \
	"$tmp/fs_sub_auto.csv" > "$tmp/r.txt"
r_val() { awk -v k="$1" -v m="$2" -v c="$3" '$1 == k && $2 == m { print $c }' "$tmp/r.txt"; }

declare -A up upf
for model in ets auto; do
	echo "bench: per-window update of $series series, $model" >&2
	line=$(taskset -c 0 "$upd" "$tmp/set.train.csv" $model $season $horizon "$windows")
	up[$model]=$(echo "$line" | awk '{ for (i = 1; i < NF; i++) if ($i == "update_us_per_1000") print $(i + 1) }')
	upf[$model]=$(echo "$line" | awk '{ for (i = 1; i < NF; i++) if ($i == "update_forecast_us_per_1000") print $(i + 1) }')
done

speed_ets=$(awk -v r="$(r_val time R-ets 3)" -v f="${sub_s[ets]}" 'BEGIN { printf "%.1f", r / f }')
speed_arima=$(awk -v r="$(r_val time R-auto.arima 3)" -v f="${sub_s[arima]}" \
	'BEGIN { printf "%.1f", r / f }')

printf '\n%-22s %14s %9s %9s\n' "method ($r_series series)" "s per series" sMAPE MASE
printf '%-22s %14s %9s %9s\n' "R ets" "$(r_val time R-ets 3)" "$(r_val acc R-ets 3)" \
	"$(r_val acc R-ets 4)"
printf '%-22s %14s %9s %9s\n' "foreshard ets" "${sub_s[ets]}" "$(r_val acc foreshard-ets 3)" \
	"$(r_val acc foreshard-ets 4)"
printf '%-22s %14s %9s %9s\n' "R auto.arima" "$(r_val time R-auto.arima 3)" \
	"$(r_val acc R-auto.arima 3)" "$(r_val acc R-auto.arima 4)"
printf '%-22s %14s %9s %9s\n' "foreshard arima" "${sub_s[arima]}" \
	"$(r_val acc foreshard-arima 3)" "$(r_val acc foreshard-arima 4)"
printf '%-22s %14s %9s %9s\n' "foreshard auto" "${sub_s[auto]}" \
	"$(r_val acc foreshard-auto 3)" "$(r_val acc foreshard-auto 4)"
printf 'speed-up R/foreshard: ets %sx, arima %sx\n' "$speed_ets" "$speed_arima"
printf '\n%-22s %14s %9s %9s\n' "method ($series series)" "s per series" sMAPE MASE
for model in ets arima auto; do
	printf '%-22s %14s %9s %9s\n' "foreshard $model" "${fs_s[$model]}" "${fs_smape[$model]}" \
		"${fs_mase[$model]}"
done
printf '\nper-window work on %s series (us per 1000 series): ets update %s, update+forecast %s;' \
	"$series" "${up[ets]}" "${upf[ets]}"
printf ' auto update %s, update+forecast %s\n' "${up[auto]}" "${upf[auto]}"

obj() { printf '{"s_per_series": %s, "smape": %s, "mase": %s}' "$1" "$2" "$3"; }
printf '{"bench": "forecast", "series": %s, "length": %s, "season": %s, "horizon": %s, ' \
	"$series" "$length" $season $horizon
printf '"r_series": %s, "fs": {' "$r_series"
printf '"ets": %s, ' "$(obj "${fs_s[ets]}" "${fs_smape[ets]}" "${fs_mase[ets]}")"
printf '"arima": %s, ' "$(obj "${fs_s[arima]}" "${fs_smape[arima]}" "${fs_mase[arima]}")"
printf '"auto": %s}, "fs_on_r_subset": {' "$(obj "${fs_s[auto]}" "${fs_smape[auto]}" "${fs_mase[auto]}")"
for model in ets arima auto; do
	sep=", "; [ $model = auto ] && sep=""
	printf '"%s": %s%s' $model "$(obj "${sub_s[$model]}" "$(r_val acc foreshard-$model 3)" \
		"$(r_val acc foreshard-$model 4)")" "$sep"
done
printf '}, "r": {"ets": %s, ' "$(obj "$(r_val time R-ets 3)" "$(r_val acc R-ets 3)" \
	"$(r_val acc R-ets 4)")"
printf '"auto.arima": %s}, ' "$(obj "$(r_val time R-auto.arima 3)" \
	"$(r_val acc R-auto.arima 3)" "$(r_val acc R-auto.arima 4)")"
printf '"speedup_ets": %s, "speedup_arima": %s, "update": {' "$speed_ets" "$speed_arima"
printf '"ets": {"update_us_per_1000": %s, "update_forecast_us_per_1000": %s}, ' \
	"${up[ets]}" "${upf[ets]}"
printf '"auto": {"update_us_per_1000": %s, "update_forecast_us_per_1000": %s}}}\n' \
	"${up[auto]}" "${upf[auto]}"
