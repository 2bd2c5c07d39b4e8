#!/usr/bin/python3
"""statsmodels ExponentialSmoothing (additive trend and season) on the same
10,080 one-minute points as bench_forecast: fit plus a 24 h forecast.
Prints one JSON line with the median time.

  statsmodels_hw.py FILE.csv [repeats]
"""
import csv
import json
import statistics
import sys
import time
import warnings

import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if rows and not rows[0][0].replace(".", "").isdigit():
        rows = rows[1:]
    return np.array([float(r[1]) for r in rows])


def main():
    y = load(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    nupd = min(2000, len(y) - 10080)
    x = y[len(y) - 10080 - nupd:len(y) - nupd]
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ExponentialSmoothing(x, trend="add", seasonal="add",
                                       seasonal_periods=1440).fit()
            fit.forecast(1440)
        times.append(time.perf_counter() - t)
    print(json.dumps({"points": len(x), "statsmodels_fit_forecast24h_s_median":
                      round(statistics.median(times), 4)}))


if __name__ == "__main__":
    main()
