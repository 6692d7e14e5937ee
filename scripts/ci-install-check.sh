#!/usr/bin/env bash
# Install the library into a scratch prefix and build an outside program
# against it through pkg-config alone, as a user of the package would.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
meson install -C "$build" --destdir "$prefix" --quiet
root="$prefix/usr/local"
pcdir=$(dirname "$(find "$root" -name uipc.pc | head -n1)")
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$prefix"
cp scripts/outside.c "$prefix/outside.c"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -pedantic "$prefix/outside.c" -o "$prefix/outside" $(pkg-config --cflags --libs uipc)
LD_LIBRARY_PATH=$(dirname "$(find "$root" -name 'libuipc.so' | head -n1)") "$prefix/outside"
# Same program as C++: the public headers must compile there too.
if command -v g++ >/dev/null; then
  cp "$prefix/outside.c" "$prefix/outside.cc"
  # shellcheck disable=SC2046
  g++ -Wall -Werror -fsyntax-only "$prefix/outside.cc" $(pkg-config --cflags uipc)
fi
# Each installed public header compiles alone, as strict C11 and as C++.
for h in "$root"/include/uipc.h "$root"/include/uipc/*.h; do
  inc="${h#"$root"/include/}"
  printf '#include <%s>\nint uipc_header_check;\n' "$inc" > "$prefix/h.c"
  cc -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$root/include" "$prefix/h.c"
  if command -v g++ >/dev/null; then
    g++ -x c++ -Wall -Wextra -Werror -fsyntax-only -I"$root/include" "$prefix/h.c"
  fi
done
echo "headers: each compiles alone (C11 -pedantic, C++)"
# Every exported symbol is in the version script, under its node (each
# release's node, and the earlier versions src/compat.c keeps), and nothing
# else is exported.
so=$(find "$root" -name 'libuipc.so' | head -n1)
python3 scripts/abi-check.py "$so" src/libuipc.sym
# The test-only UINTR model is in no installed file.
if find "$root" -type f \( -name 'libuipc*' -o -path '*/bin/*' \) -print0 |
     xargs -0 grep -l -e 'uintr-sim' -e 'uipc__uintr_sim'; then
  echo "the UINTR model (a test tool) is in an installed file" >&2
  exit 1
fi
echo "install check: ok (no test-only backend installed)"
