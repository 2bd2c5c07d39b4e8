#!/usr/bin/python3
"""Converts the GenTD26 traces to timestamp,value CSV for ahpa-backtest.

  gentd26_to_csv.py requests lora_request_trace.csv > busy.csv
      GPU-busy seconds per minute: exec_time_seconds of the requests summed
      by the minute of gmt_create (UTC); minutes without requests are 0.
  gentd26_to_csv.py duty pod_gpu_duty_cycle_anon.tar.gz > duty.csv
      total GPU duty cycle (% summed over pods) per sampling instant.
"""
import calendar
import csv
import io
import sys
import tarfile
import time
from collections import defaultdict


def requests(path):
    busy = defaultdict(float)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                t = calendar.timegm(time.strptime(row["gmt_create"], "%Y-%m-%d %H:%M:%S"))
                busy[t // 60 * 60] += float(row["exec_time_seconds"] or 0)
            except (ValueError, KeyError):
                continue
    lo, hi = min(busy), max(busy)
    out = ["timestamp,value"]
    for t in range(lo, hi + 60, 60):
        out.append("%d,%.6g" % (t, busy.get(t, 0.0)))
    return out


def duty(path):
    total = defaultdict(float)
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".csv"):
                continue
            text = io.TextIOWrapper(tar.extractfile(member), newline="")
            for row in csv.DictReader(text):
                try:
                    total[int(float(row["timestamp_anon"]))] += float(row["value"])
                except (ValueError, KeyError):
                    continue
    return ["timestamp,value"] + ["%d,%.6g" % (t, total[t]) for t in sorted(total)]


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("requests", "duty"):
        sys.stderr.write(__doc__)
        return 2
    lines = requests(sys.argv[2]) if sys.argv[1] == "requests" else duty(sys.argv[2])
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
