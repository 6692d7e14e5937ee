#!/bin/sh
# SPDX-License-Identifier: MIT
# Run by `meson install` (src/meson.build) after it installed libuipc.so,
# only when installing without DESTDIR: a package build stages files and
# leaves the cache to the package manager.
#
# meson 1.0 (Debian 12's) does not refresh the dynamic linker's cache, so a
# program linked through pkg-config against a library just installed in
# /usr/local/lib/<triplet> would fail to start ("cannot open shared object
# file") until someone ran ldconfig. As root, run it. A user installing
# into a prefix of their own needs LD_LIBRARY_PATH (or an rpath) anyway:
# meson shows an install script's output only when it fails, so the
# README says so rather than this script.
[ "$(id -u)" = 0 ] || exit 0
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
"$ldconfig" || echo "uipc: ldconfig failed; run it before starting programs linked with libuipc" >&2
exit 0
