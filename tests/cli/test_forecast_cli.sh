#!/usr/bin/env bash
# foreshard-forecast end to end: output format and values, intervals file, --eval's table,
# missing values, determinism, every model, and the errors a user can make. Needs only the
# build (FS_BUILD).
set -euo pipefail

cli=${FS_BUILD:?FS_BUILD not set}/foreshard-forecast
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# A season of 4 repeated 12 times, and a trending series with gaps.
season="a,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9,1,5,3,9"
trend="b,$(seq -s, 10 2 150 | sed 's/,1[0-4][0-9],/,,/g')"
printf '%s\n\n%s\n' "$season" "$trend" > "$tmp/in.csv"
printf 'a,1,5,3,9,1,5\nb,152,154,156,158,160,162\n' > "$tmp/truth.csv"

# seasonal naive repeats the last season exactly
out=$("$cli" --model snaive --season 4 --horizon 6 < "$tmp/in.csv")
[ "$(echo "$out" | head -1)" = "a,1,5,3,9,1,5" ] || fail "snaive forecast: $out"
[ "$(echo "$out" | wc -l)" = 2 ] || fail "one line per series (blank lines skipped): $out"
echo "$out" | tail -1 | grep -Eq '^b(,[-0-9.e+]+){6}$' || fail "gaps are filled: $out"

# intervals: one line per series and level, H lower then H upper bounds
"$cli" --model snaive --season 4 --horizon 6 --level 50,99 --intervals "$tmp/iv.csv" \
	< "$tmp/in.csv" > /dev/null
[ "$(wc -l < "$tmp/iv.csv")" = 4 ] || fail "interval lines: $(cat "$tmp/iv.csv")"
awk -F, 'NR == 1 && ($1 != "a" || $2 != 50 || NF != 14) { exit 1 }
	NR == 2 && ($2 != 99) { exit 1 }
	{ for (i = 3; i <= 8; i++) if ($i > $(i + 6)) exit 1 }' "$tmp/iv.csv" ||
	fail "interval layout or lo > hi: $(cat "$tmp/iv.csv")"

# --eval: the table goes to stderr with an overall row and the two references
"$cli" --model snaive --season 4 --horizon 6 --eval "$tmp/truth.csv" < "$tmp/in.csv" \
	> /dev/null 2> "$tmp/eval.txt"
for row in overall naive2 snaive; do
	grep -q "^$row " "$tmp/eval.txt" || fail "no $row row: $(cat "$tmp/eval.txt")"
done
awk '$1 == "overall" && $2 != 2 { exit 1 }' "$tmp/eval.txt" || fail "two series scored"

# every model runs and gives a full, finite forecast; auto is deterministic for a seed
long="c,$(for i in $(seq 0 299); do echo $((100 + (i % 24) * 3 + i / 10)); done | paste -sd,)"
echo "$long" > "$tmp/long.csv"
for model in naive snaive ets arima prophet lstm auto; do
	out=$("$cli" --model $model --season 24 --horizon 30 < "$tmp/long.csv")
	echo "$out" | grep -Eq '^c(,-?[0-9][-0-9.e+]*){30}$' || fail "$model: $out"
done
a=$("$cli" --seed 3 --season 24 --horizon 30 --intervals "$tmp/i1" < "$tmp/long.csv")
b=$("$cli" --seed 3 --season 24 --horizon 30 --intervals "$tmp/i2" < "$tmp/long.csv")
[ "$a" = "$b" ] && cmp -s "$tmp/i1" "$tmp/i2" || fail "auto is not deterministic"

# user errors: a clear message and exit status 2
expect_error() { # pattern, then the command
	local pattern=$1 rc=0
	shift
	"$@" > /dev/null 2> "$tmp/err" || rc=$?
	[ $rc = 2 ] || fail "exit status $rc for $*"
	grep -q -- "$pattern" "$tmp/err" || fail "message for $*: $(cat "$tmp/err")"
}
printf 'x,1,2,oops,4\n' > "$tmp/bad.csv"
expect_error "stdin:1: a value is not a finite number" "$cli" --model naive < "$tmp/bad.csv"
printf 'no-comma\n' > "$tmp/bad.csv"
expect_error "stdin:1: expected" "$cli" < "$tmp/bad.csv"
expect_error 'unknown --model "holt"' "$cli" --model holt < "$tmp/in.csv"
expect_error "--horizon wants an integer" "$cli" --horizon 0 < "$tmp/in.csv"
expect_error "--level wants" "$cli" --level 80,120 < "$tmp/in.csv"
expect_error "cannot open --eval file" "$cli" --eval "$tmp/nope" < "$tmp/in.csv"
echo "ok"
