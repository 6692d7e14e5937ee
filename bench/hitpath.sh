#!/usr/bin/env bash
# Instructions per awake notify+wait (one half of a round trip), per
# mechanism, counted by callgrind: bench/hitpath.c says what each row runs.
#
#   bench/hitpath.sh [BACKEND]      # BUILD=build by default
#
# Prints a markdown table: instructions per operation (the loop's total over
# its rounds; the loop's own increment and compare included, as they are in
# every row), and the three functions that cost the most in the uipc rows.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
bin=$BUILD/bench/uipc-hitpath
[ -x "$bin" ] || ninja -C "$BUILD" bench/uipc-hitpath >/dev/null
command -v valgrind >/dev/null || { echo "hitpath.sh: valgrind is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg.%p" \
	"$bin" "$@" >"$tmp/out.txt" 2>"$tmp/vg.txt" || { cat "$tmp/vg.txt" >&2; exit 1; }
rounds=$(grep -m1 -o '[0-9]* rounds' "$tmp/out.txt" | cut -d' ' -f1)
echo "$(head -1 "$tmp/out.txt"); $rounds rounds per row; $(valgrind --version)"
echo
echo "| mechanism | instructions per notify+wait | top functions (instructions per op) |"
echo "|---|---|---|"
for f in "$tmp"/cg.*.[0-9]*; do
	name=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
	total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f" | tail -1)
	# The per-function list: between its "file:function" header and the
	# first blank line (the annotated sources follow).
	top=$(callgrind_annotate --inclusive=no "$f" 2>/dev/null |
		awk -v n="$rounds" '/file:function/ { on = 1; getline; next } on && /^$/ { exit }
			on && /^ *[0-9,]+ / { v = $1; gsub(",", "", v); fn = $0; sub(/ \[.*/, "", fn); sub(/.*:/, "", fn)
				if (k < 4) printf "%s%s %.1f", (k ? ", " : ""), fn, v / n; k++ }' || true)
	printf "| %s | %.1f | %s |\n" "$name" "$(echo "$total / $rounds" | bc -l)" "$top"
done
