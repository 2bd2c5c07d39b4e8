#!/usr/bin/python3
"""Writes the synthetic suite of run_policy.sh into DIR: 9 days at 60 s
(14 for the weekly one), deterministic (seeded), load in percent summed
over pods:

  syn_daily   daily cycle 40..200 plus 5 % noise
  syn_weekly  daily cycle whose amplitude halves on weekends
  syn_trend   daily cycle on a level growing 60 % over the span
  syn_shift   daily cycle with level shifts (+50 %, then -30 %) every 3 days
  syn_spikes  daily cycle plus short random bursts (5-20 min, 2-4x)
  syn_noise   no season: a mean-reverting random walk with noise

  synthetic.py DIR
"""
import math
import os
import random
import sys

T0 = 1700006400  # a Wednesday, 00:00 UTC
STEP = 60
DAY = 1440


def daily(i, lo=40.0, hi=200.0):
    ph = 2 * math.pi * (i % DAY) / DAY
    return lo + (hi - lo) * (0.5 - 0.5 * math.cos(ph)) ** 1.5


def write(d, name, values):
    with open(os.path.join(d, name + ".csv"), "w") as f:
        f.write("timestamp,value\n")
        for i, v in enumerate(values):
            f.write("%d,%.4f\n" % (T0 + STEP * i, max(v, 0.0)))


def main():
    d = sys.argv[1]
    rnd = random.Random(13)
    n = 9 * DAY
    write(d, "syn_daily", [daily(i) * (1 + 0.05 * rnd.gauss(0, 1)) for i in range(n)])
    w = []
    for i in range(14 * DAY):
        dow = (i // DAY + 2) % 7  # 0 = Monday
        a = 0.5 if dow >= 5 else 1.0
        w.append((40 + a * (daily(i) - 40)) * (1 + 0.05 * rnd.gauss(0, 1)))
    write(d, "syn_weekly", w)
    write(d, "syn_trend", [daily(i) * (1 + 0.6 * i / n) * (1 + 0.05 * rnd.gauss(0, 1))
                           for i in range(n)])
    levels = [1.0, 1.5, 1.05]
    write(d, "syn_shift", [daily(i) * levels[min(i // (3 * DAY), 2)] *
                           (1 + 0.05 * rnd.gauss(0, 1)) for i in range(n)])
    s, left, mult = [], 0, 1.0
    for i in range(n):
        if left == 0 and rnd.random() < 1.0 / 240:
            left, mult = rnd.randint(5, 20), rnd.uniform(2, 4)
        m = mult if left > 0 else 1.0
        left = max(left - 1, 0)
        s.append(daily(i) * m * (1 + 0.05 * rnd.gauss(0, 1)))
    write(d, "syn_spikes", s)
    x, out = 100.0, []
    for i in range(n):
        x += 0.02 * (100 - x) + 3 * rnd.gauss(0, 1)
        out.append(x + 8 * rnd.gauss(0, 1))
    write(d, "syn_noise", out)


if __name__ == "__main__":
    main()
