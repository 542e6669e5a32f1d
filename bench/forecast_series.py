#!/usr/bin/env python3
"""Synthetic load series for bench/forecast.sh: N series of LEN points with a daily season.

Each series is a key range's request rate: a level spread over four orders of magnitude, a
drift, a daily shape from a few random harmonics (multiplicative on the level, as traffic is),
noise that grows with the level, and in some series spikes, a level shift, or zeros (an idle
range). Deterministic for a seed. Writes OUT.train.csv (LEN points) and OUT.test.csv (the next
H points) in foreshard-forecast's format.

usage: forecast_series.py N LEN SEASON H SEED OUT
"""
import math
import random
import sys


def series(rng, length, season):
    level = 10 ** rng.uniform(0.5, 4)
    drift = rng.gauss(0, 0.3) * level / length
    harmonics = [(rng.uniform(0, 0.5) / (k + 1), rng.uniform(0, 2 * math.pi))
                 for k in range(rng.randint(1, 3))]
    noise = rng.uniform(0.02, 0.15)
    spikes = rng.random() < 0.2
    shift_at = rng.randrange(length // 2, length) if rng.random() < 0.15 else None
    shift = rng.uniform(0.5, 1.8)
    idle = rng.random() < 0.05
    out = []
    for t in range(length):
        shape = 1 + sum(a * math.sin(2 * math.pi * (k + 1) * t / season + p)
                        for k, (a, p) in enumerate(harmonics))
        mu = max(level + drift * t, 0.1) * max(shape, 0.05)
        if shift_at is not None and t >= shift_at:
            mu *= shift
        v = mu * (1 + rng.gauss(0, noise))
        if spikes and rng.random() < 0.01:
            v *= rng.uniform(2, 5)
        if idle and (t // season) % 5 == 0:
            v = 0
        out.append(max(v, 0))
    return out


def main():
    n, length, season, h, seed = (int(a) for a in sys.argv[1:6])
    out = sys.argv[6]
    rng = random.Random(seed)
    with open(out + ".train.csv", "w") as tr, open(out + ".test.csv", "w") as te:
        for i in range(n):
            y = series(rng, length + h, season)
            tr.write(f"s{i}," + ",".join("%.4f" % v for v in y[:length]) + "\n")
            te.write(f"s{i}," + ",".join("%.4f" % v for v in y[length:]) + "\n")


if __name__ == "__main__":
    main()
