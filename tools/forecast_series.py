#!/usr/bin/env python3
"""Builds the forecast evaluation sets from ../shared/data for tools/forecast_eval.sh.

Each set is a pair of files in the format of foreshard-forecast: NAME.train.csv (one history
per line, "id,v1,...,vn") and NAME.test.csv (the true values of the following horizon). A
data set gives several series by rolling the forecast origin back over its last days, as the
forecast thread would forecast the same key range day after day. Time buckets with no row in
the source are written as empty fields (missing values), which the engine must fill.

usage: forecast_series.py DATA_DIR OUT_DIR   (prints one "name horizon seasons" line per set)
"""
import csv
import datetime as dt
import os
import sys

# name: (files, bucket minutes, seasons, horizon, origins, origin step, history length)
SETS = {
    # NASA web server, hourly: daily and weekly cycles; 14 daily origins
    "nasa_hourly": (["nasa_http_per_minute.csv"], 60, [24, 168], 24, 14, 24, 1000),
    # the same at 5 minutes, 3 hours ahead, every 6 hours over the last week
    "nasa_5min": (["nasa_http_per_minute.csv"], 5, [288], 36, 28, 72, 2016),
    # NYC taxi passengers, 30 minutes: daily and weekly cycles; 28 daily origins
    "taxi_30min": (["nab/nyc_taxi.csv"], 30, [48, 336], 48, 28, 48, 2000),
    # tweets about 10 tickers, hourly; 7 daily origins each
    "twitter_hourly": ([f"nab/Twitter_volume_{t}.csv" for t in
                        ("AAPL", "AMZN", "CRM", "CVS", "FB", "GOOG", "IBM", "KO", "PFE", "UPS")],
                       60, [24], 24, 7, 24, 1000),
    # AWS load balancer requests, 5 minutes, 3 hours ahead, every 6 hours over the last 4 days
    "elb_5min": (["nab/elb_request_count_8c0756.csv"], 5, [288], 36, 16, 72, 2016),
}


def read_buckets(path, minutes):
    """Sums a timestamp,value file into buckets of the given minutes; None = no row there."""
    sums = {}
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for ts, value in rows:
            t = dt.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S")
            k = int(t.replace(tzinfo=dt.timezone.utc).timestamp()) // (60 * minutes)
            sums[k] = sums.get(k, 0.0) + float(value)
    lo, hi = min(sums), max(sums)
    # the last bucket may be partial: drop it
    return [sums.get(k) for k in range(lo, hi)]


def fmt(v):
    return "" if v is None else ("%d" % v if v == int(v) else "%.6g" % v)


def main():
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name, (files, minutes, seasons, horizon, origins, step, hist) in SETS.items():
        with open(os.path.join(out, name + ".train.csv"), "w") as tr, \
             open(os.path.join(out, name + ".test.csv"), "w") as te:
            for path in files:
                series = read_buckets(os.path.join(data, path), minutes)
                tag = os.path.splitext(os.path.basename(path))[0]
                for o in range(origins):
                    end = len(series) - horizon - o * step
                    start = max(0, end - hist)
                    sid = f"{tag}@{o}"
                    tr.write(sid + "," + ",".join(fmt(v) for v in series[start:end]) + "\n")
                    te.write(sid + "," + ",".join(fmt(v) for v in series[end:end + horizon])
                             + "\n")
        print(name, horizon, " ".join(str(s) for s in seasons))


if __name__ == "__main__":
    main()
