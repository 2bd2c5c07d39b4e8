#!/usr/bin/env bash
# Opens a predictionsobserver HTML page in headless Chromium, takes a
# screenshot and checks that both charts were drawn: the page must show two
# separate bands of rows that each hold enough blue (actual) and green
# (predicted) pixels. Builds nothing itself.
#
# usage: report_chromium.sh PAGE.html [SCREENSHOT.png]
# Exits 0 when both charts are drawn, 1 when they are not, 2 on usage or
# environment errors (no Chromium, no screenshot).
# Environment: CHROMIUM (browser command, default chromium), REPORT_WINDOW
# (window size, default 1400,1800).
set -euo pipefail

page=${1:?usage: report_chromium.sh PAGE.html [SCREENSHOT.png]}
[[ -r "$page" ]] || { echo "report_chromium: cannot read $page" >&2; exit 2; }
page=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
browser=${CHROMIUM:-chromium}

# Chromium may still be being installed: wait for it a few minutes.
for _ in $(seq 1 60); do
    command -v "$browser" >/dev/null 2>&1 && break
    sleep 5
done
command -v "$browser" >/dev/null 2>&1 || { echo "report_chromium: $browser not found" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
png=${2:-$work/screenshot.png}

timeout 90 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --screenshot="$png" --window-size=${REPORT_WINDOW:-1400,1800} \
    "file://$page" >"$work/chromium.log" 2>&1 || true
if [[ ! -s "$png" ]]; then
    echo "report_chromium: no screenshot; chromium said:" >&2
    tail -n 20 "$work/chromium.log" >&2
    exit 2
fi

/usr/bin/python3 - "$png" <<'PY'
"""Counts line-coloured pixels in a PNG, standard library only."""
import struct
import sys
import zlib

MIN_PIXELS = 150  # per colour per chart: a line over a tenth of the width; a week is thousands


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("report_chromium: not a PNG")
    pos, idat, head = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = head
    if depth != 8 or colour not in (2, 6) or interlace:
        sys.exit("report_chromium: unsupported PNG (depth %d colour %d interlace %d)"
                 % (depth, colour, interlace))
    bpp = 3 if colour == 2 else 4
    return width, height, bpp, unfilter(zlib.decompress(b"".join(idat)), width, height, bpp)


def unfilter(raw, width, height, bpp):
    stride = width * bpp
    rows, prev, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return rows


def classify(rows, width, bpp):
    """Per row: (blue-ish, green-ish) pixel counts."""
    counts = []
    for line in rows:
        blue = green = 0
        for x in range(0, width * bpp, bpp):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if b > 140 and b - r > 70 and b - g > 40:
                blue += 1
            elif g > 100 and g - r > 50 and g - b > 30:
                green += 1
        counts.append((blue, green))
    return counts


def bands(counts, max_gap=30):
    """Runs of rows with coloured pixels, joined across small gaps."""
    out, start, last = [], None, None
    for y, (blue, green) in enumerate(counts):
        if blue + green == 0:
            continue
        if start is not None and y - last > max_gap:
            out.append((start, last))
            start = None
        if start is None:
            start = y
        last = y
    if start is not None:
        out.append((start, last))
    return out


def main():
    width, height, bpp, rows = read_png(sys.argv[1])
    counts = classify(rows, width, bpp)
    charts = []
    for top, bottom in bands(counts):
        blue = sum(c[0] for c in counts[top:bottom + 1])
        green = sum(c[1] for c in counts[top:bottom + 1])
        print("rows %4d-%4d: blue %6d green %6d" % (top, bottom, blue, green))
        if blue >= MIN_PIXELS and green >= MIN_PIXELS:
            charts.append((top, bottom))
    if len(charts) < 2:
        print("report_chromium: FAIL: %d chart(s) with >= %d blue and >= %d green pixels, "
              "want 2" % (len(charts), MIN_PIXELS, MIN_PIXELS))
        sys.exit(1)
    print("report_chromium: ok: %d charts drawn in a %dx%d screenshot"
          % (len(charts), width, height))


main()
PY
