#!/usr/bin/env bash
# Builds the static aarch64 helper into adapters/kvm/helper/build/ (git-ignored):
#   build/s2c-helper      the program (also /init of the QEMU initramfs)
#   build/guest.lst       disassembly of the guest code, for review instruction by instruction
#   build/guest-a32.lst   the same for its AArch32 (A32) part
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/build"
CC="${CROSS_CC:-aarch64-linux-gnu-gcc}"
OBJDUMP="${CROSS_OBJDUMP:-aarch64-linux-gnu-objdump}"
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (run: npm run provision)" >&2; exit 1; }
mkdir -p "$OUT"
echo "    $CC -static -O2 -Wall -Wextra -Werror -> $OUT/s2c-helper"
# One file per job (s2c.h lists them); harness.h is generated from core/harness.ts (scripts/gen-harness-h.ts).
SRCS=(s2c-helper.c protocol.c json.c vm.c run.c a32.c diag.c floor.c init.c io.c mte.c guest.S)
"$CC" -static -O2 -Wall -Wextra -Werror -std=gnu11 -o "$OUT/s2c-helper.tmp" "${SRCS[@]/#/$HERE/}"
mv "$OUT/s2c-helper.tmp" "$OUT/s2c-helper"
"$CC" -c -o "$OUT/guest.o" "$HERE/guest.S"
"$OBJDUMP" -d -j .rodata.s2c_guest "$OUT/guest.o" > "$OUT/guest.lst" 2>/dev/null \
  || "$OBJDUMP" -D -j .rodata.s2c_guest "$OUT/guest.o" > "$OUT/guest.lst"
# The AArch32 part (s2c_a32_vectors .. s2c_guest_end) is emitted as .4byte words: disassemble it as A32.
NM="${CROSS_NM:-aarch64-linux-gnu-nm}"
OBJCOPY="${CROSS_OBJCOPY:-aarch64-linux-gnu-objcopy}"
a32=$("$NM" "$OUT/guest.o" | awk '$3 == "s2c_a32_vectors" { print $1 }')
end=$("$NM" "$OUT/guest.o" | awk '$3 == "s2c_guest_end" { print $1 }')
"$OBJCOPY" -O binary -j .rodata.s2c_guest "$OUT/guest.o" "$OUT/guest.bin"
"$OBJDUMP" -D -b binary -m arm --start-address="0x$a32" --stop-address="0x$end" "$OUT/guest.bin" > "$OUT/guest-a32.lst" 2>/dev/null \
  || echo "    (no A32 disassembler in $OBJDUMP: $OUT/guest-a32.lst not written)" >&2
sha256sum "$OUT/s2c-helper" | sed 's/^/    /'
