#!/usr/bin/env bash
# Benchmark: the forecast engine against R's forecast package, speed and accuracy, in one
# invocation. Not part of the test suite.
#
#   bash bench/forecast.sh [BUILD_DIR]   (default: build-release; needs foreshard-forecast and
#                                         bench/fs-forecast-update built there)
#
# 1. Generates BENCH_SERIES synthetic load series of BENCH_LENGTH points with a daily season of
#    24 and the next 24 true values (bench/forecast_series.py; fixed seed).
# 2. Times foreshard-forecast --model ets, --model arima and --model auto on all of them, each
#    process single-threaded and pinned to one core, and prints its accuracy table (--eval).
#    With BENCH_JOBS=J the series are cut into J chunks run at once on cores 0..J-1; the time
#    per series is then the sum of the chunks' times over all series (still one core's work).
# 3. Times R's ets() and auto.arima() (Debian's r-cran-forecast, installed when missing) on the
#    first BENCH_R_SERIES series (R takes seconds per series; auto.arima, minutes, runs on the
#    first BENCH_R_ARIMA_SERIES of them), and scores R's and foreshard's forecasts of those same
#    series with the same R code (bench/forecast_r.R).
# 4. Times the forecast thread's per-window work on every series: one new value absorbed
#    (update) and update plus a fresh 24-step forecast with 80/95% intervals
#    (bench/fs-forecast-update), for ETS and for the automatic choice.
# Prints a table with the ratios R / foreshard (time per series; > 1 = foreshard faster) and, as
# its last line, one JSON object:
#   {"bench": "forecast", "series", "length", "season", "horizon", "jobs", "r_series",
#    "r_arima_series",
#    "fs": {"ets": {"s_per_series", "smape", "mase"}, "arima": {...}, "auto": {...}},
#    "fs_on_r_subset": {...}, "r": {"ets": {...}, "auto.arima": {...}},
#    "speedup_ets", "speedup_arima", "update": {"ets": {"update_us_per_1000",
#    "update_forecast_us_per_1000"}, "auto": {...}}}
#
# Environment (all optional):
#   BENCH_SERIES=10000  BENCH_LENGTH=1000  BENCH_R_SERIES=20  BENCH_WINDOWS=20
#   BENCH_R_ARIMA_SERIES=BENCH_R_SERIES   1 to BENCH_R_SERIES
#   BENCH_JOBS=1               chunks run at once, one per core (at most the cores there are)
#   BENCH_MODELS="ets arima auto"  models timed on all series (the R subset always gets all
#                              three); the JSON's "fs" then has only these
#   BENCH_UPDATE_MODELS="ets auto" models whose per-window work is timed on all series
#   BENCH_KEEP=1               keep the temporary directory
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$src/build-release}" && pwd)
series=${BENCH_SERIES:-10000}
length=${BENCH_LENGTH:-1000}
r_series=${BENCH_R_SERIES:-20}
r_arima_series=${BENCH_R_ARIMA_SERIES:-$r_series}
windows=${BENCH_WINDOWS:-20}
jobs=${BENCH_JOBS:-1}
models=${BENCH_MODELS:-ets arima auto}
update_models=${BENCH_UPDATE_MODELS:-ets auto}
[ "$jobs" -ge 1 ] && [ "$jobs" -le "$(nproc)" ] ||
	{ echo "bench: BENCH_JOBS must be 1 to $(nproc)" >&2; exit 2; }
[ "$r_arima_series" -ge 1 ] && [ "$r_arima_series" -le "$r_series" ] ||
	{ echo "bench: BENCH_R_ARIMA_SERIES must be 1 to BENCH_R_SERIES ($r_series)" >&2; exit 2; }
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

# Chunk k of J of a series file (every J-th line from k), so chunks mix the generator's kinds.
chunk() { # file k
	awk -v j="$jobs" -v k="$2" 'NR % j == k' "$1"
}
for k in $(seq 0 $((jobs - 1))); do
	chunk "$tmp/set.train.csv" "$k" > "$tmp/set$k.train.csv"
	chunk "$tmp/set.test.csv" "$k" > "$tmp/set$k.test.csv"
done

# seconds of one single-threaded run pinned to core $1 of command $2...; the output in $tmp/t$1
timed() {
	local core=$1 start
	shift
	start=$EPOCHREALTIME
	taskset -c "$core" "$@"
	awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }' > "$tmp/t$core"
}

# time per series, and the series-weighted sMAPE/MASE, of foreshard-forecast on all chunks
declare -A fs_s fs_smape fs_mase sub_s
run_fs_all() { # model
	local k total=0
	for k in $(seq 0 $((jobs - 1))); do
		timed "$k" "$cli" --model "$1" --season $season --horizon $horizon \
			--eval "$tmp/set$k.test.csv" < "$tmp/set$k.train.csv" > "$tmp/fs_$1_$k.csv" \
			2> "$tmp/eval$k.txt" &
	done
	wait
	for k in $(seq 0 $((jobs - 1))); do
		total=$(awk -v a="$total" -v b="$(cat "$tmp/t$k")" 'BEGIN { printf "%.3f", a + b }')
		echo "-- foreshard $1: accuracy on chunk $k of $jobs" >&2
		cat "$tmp/eval$k.txt" >&2
	done
	fs_s[$1]=$(awk -v t="$total" -v n="$series" 'BEGIN { printf "%.6f", t / n }')
	fs_smape[$1]=$(cat "$tmp"/eval*.txt | awk '$1 == "overall" { s += $2 * $3; n += $2 }
		END { printf "%.3f", s / n }')
	fs_mase[$1]=$(cat "$tmp"/eval*.txt | awk '$1 == "overall" { s += $2 * $4; n += $2 }
		END { printf "%.4f", s / n }')
	rm -f "$tmp"/eval*.txt
}
for model in $models; do
	echo "bench: foreshard-forecast --model $model on $series series, $jobs at once" >&2
	run_fs_all "$model"
done
for model in ets arima auto; do
	timed 0 "$cli" --model $model --season $season --horizon $horizon \
		< "$tmp/sub.train.csv" > "$tmp/fs_sub_$model.csv"
	sub_s[$model]=$(awk -v t="$(cat "$tmp/t0")" -v n="$r_series" 'BEGIN { printf "%.6f", t / n }')
done

echo "bench: R ets() on $r_series series and auto.arima() on $r_arima_series" >&2
taskset -c 0 Rscript "$src/bench/forecast_r.R" "$tmp/sub.train.csv" "$tmp/sub.test.csv" \
	"$r_series" $season $horizon "$tmp/fs_sub_ets.csv" "$tmp/fs_sub_arima.csv" \
	"$tmp/fs_sub_auto.csv" "$r_arima_series" > "$tmp/r.txt"
r_val() { awk -v k="$1" -v m="$2" -v c="$3" '$1 == k && $2 == m { print $c }' "$tmp/r.txt"; }

# per-window work: the series-weighted mean of the chunks' microseconds per 1,000 series
declare -A up upf
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "${@:2}"; }
for model in $update_models; do
	echo "bench: per-window update of $series series, $model, $jobs at once" >&2
	for k in $(seq 0 $((jobs - 1))); do
		taskset -c "$k" "$upd" "$tmp/set$k.train.csv" "$model" $season $horizon "$windows" \
			> "$tmp/up$k.txt" &
	done
	wait
	weigh() { paste <(field series "$tmp"/up*.txt) <(field "$1" "$tmp"/up*.txt) |
		awk '{ s += $1 * $2; n += $1 } END { printf "%.2f", s / n }'; }
	up[$model]=$(weigh update_us_per_1000)
	upf[$model]=$(weigh update_forecast_us_per_1000)
	rm -f "$tmp"/up*.txt
done

speed_ets=$(awk -v r="$(r_val time R-ets 3)" -v f="${sub_s[ets]}" 'BEGIN { printf "%.1f", r / f }')
speed_arima=$(awk -v r="$(r_val time R-auto.arima 3)" -v f="${sub_s[arima]}" \
	'BEGIN { printf "%.1f", r / f }')

printf '\n%-22s %14s %9s %9s\n' "method ($r_series series)" "s per series" sMAPE MASE
printf '%-22s %14s %9s %9s\n' "R ets" "$(r_val time R-ets 3)" "$(r_val acc R-ets 3)" \
	"$(r_val acc R-ets 4)"
printf '%-22s %14s %9s %9s\n' "foreshard ets" "${sub_s[ets]}" "$(r_val acc foreshard-ets 3)" \
	"$(r_val acc foreshard-ets 4)"
printf '%-22s %14s %9s %9s\n' "R auto.arima ($r_arima_series)" "$(r_val time R-auto.arima 3)" \
	"$(r_val acc R-auto.arima 3)" "$(r_val acc R-auto.arima 4)"
printf '%-22s %14s %9s %9s\n' "foreshard arima ($r_arima_series)" "${sub_s[arima]}" \
	"$(r_val acc foreshard-arima 3)" "$(r_val acc foreshard-arima 4)"
printf '%-22s %14s %9s %9s\n' "foreshard auto" "${sub_s[auto]}" \
	"$(r_val acc foreshard-auto 3)" "$(r_val acc foreshard-auto 4)"
printf 'speed-up R/foreshard: ets %sx, arima %sx\n' "$speed_ets" "$speed_arima"
printf '\n%-22s %14s %9s %9s\n' "method ($series series)" "s per series" sMAPE MASE
for model in $models; do
	printf '%-22s %14s %9s %9s\n' "foreshard $model" "${fs_s[$model]}" "${fs_smape[$model]}" \
		"${fs_mase[$model]}"
done
printf '\nper-window work on %s series, us per 1000 series:\n' "$series"
for model in $update_models; do
	printf '  %-6s update %s, update + forecast with intervals %s\n' "$model" "${up[$model]}" \
		"${upf[$model]}"
done

# "a": {...}, "b": {...} for the words in $1, each object from the command in $2 given the word
objects() {
	local sep="" w
	for w in $1; do
		printf '%s"%s": %s' "$sep" "$w" "$($2 "$w")"
		sep=", "
	done
}
obj() { printf '{"s_per_series": %s, "smape": %s, "mase": %s}' "$1" "$2" "$3"; }
fs_obj() { obj "${fs_s[$1]}" "${fs_smape[$1]}" "${fs_mase[$1]}"; }
sub_obj() { obj "${sub_s[$1]}" "$(r_val acc "foreshard-$1" 3)" "$(r_val acc "foreshard-$1" 4)"; }
up_obj() {
	printf '{"update_us_per_1000": %s, "update_forecast_us_per_1000": %s}' "${up[$1]}" \
		"${upf[$1]}"
}
printf '{"bench": "forecast", "series": %s, "length": %s, "season": %s, "horizon": %s, ' \
	"$series" "$length" $season $horizon
printf '"jobs": %s, "r_series": %s, "r_arima_series": %s, "fs": {%s}, ' "$jobs" "$r_series" \
	"$r_arima_series" "$(objects "$models" fs_obj)"
printf '"fs_on_r_subset": {%s}, ' "$(objects "ets arima auto" sub_obj)"
printf '"r": {"ets": %s, ' "$(obj "$(r_val time R-ets 3)" "$(r_val acc R-ets 3)" \
	"$(r_val acc R-ets 4)")"
printf '"auto.arima": %s}, ' "$(obj "$(r_val time R-auto.arima 3)" \
	"$(r_val acc R-auto.arima 3)" "$(r_val acc R-auto.arima 4)")"
printf '"speedup_ets": %s, "speedup_arima": %s, "update": {%s}}\n' "$speed_ets" "$speed_arima" \
	"$(objects "$update_models" up_obj)"
