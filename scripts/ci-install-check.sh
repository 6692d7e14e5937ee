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
cat > "$prefix/outside.c" <<'C'
#include <uipc.h>
#include <stdio.h>
int main(void)
{
	uipc_ctx *ctx;
	uipc_rx *rx;
	uipc_tx *tx;
	uint64_t mask = 0;

	if (uipc_ctx_new(NULL, &ctx) || uipc_rx_new(ctx, 0, &rx) || uipc_tx_new(rx, 1, &tx) ||
	    uipc_tx_notify(tx) || uipc_rx_wait(rx, 0, &mask) || mask != 2)
		return 1;
	printf("outside program: uipc %s, backend %s, ok\n", UIPC_VERSION_STRING, uipc_ctx_backend_name(ctx));
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	return 0;
}
C
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
# Every exported symbol is in the version script, and nothing else is exported.
nm -D --defined-only "$(find "$root" -name 'libuipc.so' | head -n1)" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort > "$prefix/exported"
grep -oE '^\s*uipc_[a-z0-9_]+;' src/libuipc.sym | tr -d ' \t;' | sort > "$prefix/listed"
if ! diff -u "$prefix/listed" "$prefix/exported"; then
  echo "exported symbols differ from src/libuipc.sym" >&2
  exit 1
fi
echo "install check: ok ($(wc -l < "$prefix/exported") symbols)"
