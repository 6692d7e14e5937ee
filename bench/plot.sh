#!/bin/sh
# SPDX-License-Identifier: MIT
# Turn `uipc-bench --json` output into SVG charts with gnuplot:
#   <scenario>.svg      latency percentiles (p50/p90/p99/p99.9) per mechanism, log scale
#   summary.svg         ping-pong awake/blocked and notify cost side by side
#   matrix-<mech>.svg   the CPU-pair round-trip matrix as a heat map
# Usage: bench/plot.sh results.json [outdir]     (needs gnuplot and python3)
set -eu

if [ $# -lt 1 ] || [ ! -r "$1" ]; then
	echo "usage: $0 results.json [outdir]" >&2
	exit 2
fi
json=$1
out=${2:-.}
for tool in gnuplot python3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool not found" >&2; exit 1; }
done
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One data file per scenario (mechanism p50 p90 p99 p999), one per matrix
# mechanism (cpu_tx cpu_rx p50 on a full grid, NaN on the diagonal), and the
# machine line for the titles.
python3 - "$json" "$tmp" <<'PY'
import json, sys, os
doc = json.load(open(sys.argv[1]))
tmp = sys.argv[2]
m = doc.get("machine", {})
with open(os.path.join(tmp, "machine.txt"), "w") as f:
    line = "%s, %s, %s (%s)" % (m.get("cpu_model", "?"), m.get("kernel", "?"),
            m.get("virtualization", "?"), m.get("date", "?"))
    # Literal text in gnuplot's enhanced mode: escape its markup characters.
    for c in "_^@{}&~":
        line = line.replace(c, "\\\\" + c)
    f.write(line.replace('"', "'"))
scen, order, matrix = {}, [], {}
for r in doc.get("results", []):
    s = r["scenario"]
    if s == "matrix":
        matrix.setdefault(r["mechanism"], {})[(r["cpu_rx"], r["cpu_tx"])] = r["p50_ns"]
        continue
    label = r["mechanism"]
    if "msg_bytes" in r:
        label += " %dB x%d" % (r["msg_bytes"], r["batch"])
    if s not in scen:
        scen[s] = []
        order.append(s)
    scen[s].append((label, r["p50_ns"], r["p90_ns"], r["p99_ns"], r["p999_ns"], r.get("measures", "")))
with open(os.path.join(tmp, "scenarios.txt"), "w") as idx:
    for s in order:
        rows = scen[s]
        idx.write("%s\t%s\n" % (s, rows[0][5]))
        with open(os.path.join(tmp, s + ".dat"), "w") as f:
            for row in rows:
                f.write('"%s" %s\n' % (row[0], " ".join("%.6g" % max(v, 0.1) for v in row[1:5])))
with open(os.path.join(tmp, "matrix.txt"), "w") as idx:
    for mech, cells in matrix.items():
        cpus = sorted({c for pair in cells for c in pair})
        idx.write("%s\t%d\t%d\n" % (mech, min(cpus), max(cpus)))
        with open(os.path.join(tmp, "matrix-" + mech + ".dat"), "w") as f:
            for rx in cpus:
                for tx in cpus:
                    v = cells.get((rx, tx))
                    if v is None:
                        f.write('%d %d NaN "-"\n' % (tx, rx))
                    else:
                        f.write('%d %d %.6g "%.0f"\n' % (tx, rx, v, v))
                f.write("\n")
PY

machine=$(cat "$tmp/machine.txt")

# Percentiles of one scenario as clustered bars; $1 scenario, $2 what it measures.
bars() {
	cat <<GP
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics mytics
set ylabel "ns (log scale)"
set xtics rotate by -35 scale 0 font ",10"
set key top left horizontal
set title "$1: $2\n{/*0.8 $machine}"
plot "$tmp/$1.dat" using 2:xtic(1) title "p50" lc rgb "#2a6fb0", \
     "" using 3 title "p90" lc rgb "#5fa55a", \
     "" using 4 title "p99" lc rgb "#e0a030", \
     "" using 5 title "p99.9" lc rgb "#c84040"
GP
}

while IFS="$(printf '\t')" read -r scen what; do
	{
		echo "set terminal svg size 1000,560 dynamic enhanced font 'sans,12' background '#ffffff'"
		echo "set output '$out/$scen.svg'"
		bars "$scen" "$what"
	} | gnuplot
	echo "$out/$scen.svg"
done < "$tmp/scenarios.txt"

# The headline chart: the three scenarios the README discusses.
panels=""
for s in pingpong-awake pingpong-blocked notify-cost; do
	[ -f "$tmp/$s.dat" ] && panels="$panels $s"
done
if [ -n "$panels" ]; then
	n=$(echo $panels | wc -w)
	{
		echo "set terminal svg size $((n * 560)),600 dynamic enhanced font 'sans,12' background '#ffffff'"
		echo "set output '$out/summary.svg'"
		printf 'set multiplot layout 1,%s title "uipc-bench: %s" font ",11"\n' "$n" "$machine"
		for s in $panels; do
			what=$(awk -F '\t' -v s="$s" '$1 == s { print $2 }' "$tmp/scenarios.txt")
			bars "$s" "$what" | sed 's/^set title .*/set title "'"$s"' ('"$what"')"/'
		done
		echo "unset multiplot"
	} | gnuplot
	echo "$out/summary.svg"
fi

while IFS="$(printf '\t')" read -r mech lo hi; do
	{
		echo "set terminal svg size 700,600 dynamic enhanced font 'sans,12' background '#ffffff'"
		echo "set output '$out/matrix-$mech.svg'"
		cat <<GP
set title "$mech round trip p50 (ns) per CPU pair\n{/*0.8 $machine}"
set xlabel "sender CPU"
set ylabel "receiver CPU"
set xrange [$lo - 0.5:$hi + 0.5]
set yrange [$lo - 0.5:$hi + 0.5]
set xtics 1
set ytics 1
set palette defined (0 "#f7fbff", 1 "#6baed6", 2 "#08306b")
set cblabel "ns"
set cbrange [0:*]
set size ratio -1
plot "$tmp/matrix-$mech.dat" using 1:2:3 with image pixels notitle, \
     "" using 1:2:4 with labels font ",9" notitle
GP
	} | gnuplot
	echo "$out/matrix-$mech.svg"
done < "$tmp/matrix.txt"
