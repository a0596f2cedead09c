#!/usr/bin/env bash
# Puts the kernel's own KTAP parser (tools/testing/kunit/kunit_parser.py and
# kunit_printer.py) in a cache outside git, taken from Debian's linux-source
# package, and prints the directory. Idempotent; the tests call it.
set -euo pipefail
DIR="${S2CONFORM_CACHE:-$HOME/.cache/s2conform}/kunit"
if [ -f "$DIR/kunit_parser.py" ] && [ -f "$DIR/kunit_printer.py" ]; then echo "$DIR"; exit 0; fi
PKG=linux-source-6.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download "$PKG" >&2 2>/dev/null || { apt-get update >/dev/null 2>&1 && apt-get download "$PKG" >&2; }
deb="$(ls ./*.deb)"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/src/linux-source-6.1.tar.xz |
  tar -xJ --wildcards 'linux-source-6.1/tools/testing/kunit/kunit_p*.py'
mkdir -p "$DIR"
cp linux-source-6.1/tools/testing/kunit/kunit_parser.py linux-source-6.1/tools/testing/kunit/kunit_printer.py "$DIR/"
echo "from $deb" > "$DIR/SOURCE"
echo "$DIR"
