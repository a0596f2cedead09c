#!/usr/bin/env bash
# Builds the static aarch64 helper into adapters/kvm/helper/build/ (git-ignored):
#   build/s2c-helper      the program (also /init of the QEMU initramfs)
#   build/guest.lst       disassembly of the guest code, for review instruction by instruction
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/build"
CC="${CROSS_CC:-aarch64-linux-gnu-gcc}"
OBJDUMP="${CROSS_OBJDUMP:-aarch64-linux-gnu-objdump}"
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (run: npm run provision)" >&2; exit 1; }
mkdir -p "$OUT"
echo "    $CC -static -O2 -Wall -Wextra -Werror -> $OUT/s2c-helper"
"$CC" -static -O2 -Wall -Wextra -Werror -std=gnu11 -o "$OUT/s2c-helper.tmp" \
  "$HERE/s2c-helper.c" "$HERE/guest.S"
mv "$OUT/s2c-helper.tmp" "$OUT/s2c-helper"
"$CC" -c -o "$OUT/guest.o" "$HERE/guest.S"
"$OBJDUMP" -d -j .rodata.s2c_guest "$OUT/guest.o" > "$OUT/guest.lst" 2>/dev/null \
  || "$OBJDUMP" -D -j .rodata.s2c_guest "$OUT/guest.o" > "$OUT/guest.lst"
sha256sum "$OUT/s2c-helper" | sed 's/^/    /'
