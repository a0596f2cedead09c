// Seed 001: the linear region and the nVHE EL2 layout on 48- and 52-bit VA kernels.
//
// The rules, as the thread and the commits state them:
// - the linear region is 2^(V-1) bytes (PAGE_END - PAGE_OFFSET); for V = 52 it is 2^51
//   until f4693c2716b3 (v5.11) makes it 2^52 - 2^47; 88053ec8cb1b (v5.15) caps it at
//   2^51 again when KVM will run nVHE (or protected) on 52-bit VA hardware;
// - DRAM beyond the linear region is dropped; a kernel loaded beyond it is kept, and
//   the window slides up to end at the kernel, dropping low memory instead
//   (arm64_memblock_init);
// - EL2 (nVHE): the linear map's alias keeps the low bits of the linear VA and puts the
//   top bit V-1 opposite the ID map's, which keeps them (and the private VA range, grown
//   down from the ID map in its own half) apart, unless the kept DRAM already spans
//   bit V-1 (no free top bit): then the alias is the linear offset itself and KVM
//   refuses an ID map page inside it ("IDMAP intersecting with HYP VA");
// - the alias needs V bits of VA at EL2: before 579d7ebe90a3 (v6.2) EL2 used the ID
//   map's bits, 48 since 7ba8f2b2d652 (v5.12) for an image below 2^48, so nVHE on a
//   52-bit VA kernel cannot map its own code ("Cannot map world-switch code");
// - seed 001 lists.cs.columbia.edu/mailman/listinfo/kvmarm, v1 (not merged): ID map and private VA in [0, 2^48), the linear region in
//   [2^48, 2^52): DRAM more than 2^52 - 2^48 above the start of memory, which the EL1
//   linear region (2^52 - 2^47) keeps, has no EL2 alias: "We'll explode at run time."

import { memstartAlign, pageSize, vaBitsActual } from '../arch/host.ts';
import type { BootLogOutcome, El2MappableOutcome, LayoutCase, LayoutOutcome } from '../core/cases.ts';
import { QEMU_VIRT_BOOT } from '../core/cases.ts';
import type { BootConfig, El2Layout, HostConfig, HypInit, PhysRange } from '../core/target.ts';
import type { Profile } from './profiles.ts';

const bit = (n: number): bigint => 1n << BigInt(n);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** fls64: the 1-based index of the top set bit, 0 for 0. */
export function fls64(x: bigint): number {
  return x <= 0n ? 0 : x.toString(2).length;
}

/** Sorted, merged, non-empty ranges. */
export function normaliseRanges(rs: readonly PhysRange[]): PhysRange[] {
  const out: { base: bigint; size: bigint }[] = [];
  for (const r of [...rs].filter((x) => x.size > 0n).sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0))) {
    const last = out[out.length - 1];
    if (last && r.base <= last.base + last.size) last.size = max(last.size, r.base + r.size - last.base);
    else out.push({ base: r.base, size: r.size });
  }
  return out;
}

/** The parts of rs inside [lo, hi). */
export function clipRanges(rs: readonly PhysRange[], lo: bigint, hi: bigint): PhysRange[] {
  const out: PhysRange[] = [];
  for (const r of rs) {
    const b = max(r.base, lo);
    const e = min(r.base + r.size, hi);
    if (e > b) out.push({ base: b, size: e - b });
  }
  return out;
}

/** The parts of rs outside keep. */
export function subtractRanges(rs: readonly PhysRange[], keep: readonly PhysRange[]): PhysRange[] {
  let cur = normaliseRanges(rs);
  for (const k of keep) cur = [...clipRanges(cur, 0n, k.base), ...clipRanges(cur, k.base + k.size, bit(64))];
  return normaliseRanges(cur);
}

const overlaps = (a: bigint, aEnd: bigint, b: bigint, bEnd: bigint): boolean => a < bEnd && b < aEnd;

/** The linear region's size and whether 88053ec8cb1b's cap applies. */
export function linearRegion(v: number, mode: HostConfig['mode'], p: Profile): { size: bigint; cap51: boolean } {
  // PAGE_END - PAGE_OFFSET with PAGE_END = -2^(VA_BITS_MIN - 1), VA_BITS_MIN = 48 on 52-bit builds
  let size = v === 52 ? (p.linear52 === 'extended' ? bit(52) - bit(47) : bit(51)) : bit(v - 1);
  // 88053ec8cb1b: KVM built in, vabits_actual == 52, hyp mode available, kernel not at EL2
  const cap51 = p.linearCap51 && v === 52 && mode !== 'vhe';
  if (cap51) size = min(size, bit(51));
  return { size, cap51 };
}

/** DRAM kept and the final memstart_addr (arm64_memblock_init). */
export function keptDram(boot: BootConfig, size: bigint, align: bigint): { kept: PhysRange[]; memstart: bigint } {
  const banks = clipRanges(normaliseRanges(boot.banks), 0n, bit(52)); // PHYS_MASK_SHIFT 52
  const first = banks[0];
  if (!first) return { kept: [], memstart: 0n };
  let memstart = (first.base / align) * align;
  const kernelEnd = boot.kernel.base + boot.kernel.size;
  // beyond the linear region nothing is kept, except what it takes to keep the kernel
  let kept = clipRanges(banks, 0n, max(memstart + size, kernelEnd));
  const last = kept[kept.length - 1];
  const end = last ? last.base + last.size : 0n;
  if (memstart + size < end) {
    // the kernel sits above the window: slide it up to end there, drop memory below
    memstart = ((end - size + align - 1n) / align) * align;
    kept = clipRanges(kept, memstart, end);
  }
  return { kept: normaliseRanges(kept), memstart };
}

function el2Layout(host: HostConfig, v: number, boot: BootConfig, kept: readonly PhysRange[], memstart: bigint, p: Profile): El2Layout {
  if (host.mode === 'vhe') return { kind: 'vhe' };
  const page = pageSize(host.granule);
  const idmap = ((boot.kernel.base + boot.idmapOffset) / page) * page;
  // idmap_t0sz: wide enough for __idmap_text_end, at least VA_BITS (before 7ba8f2b2d652) or 48
  const idmapBits = Math.max(p.idmapBits === 'va-bits' ? v : Math.min(v, 48), fls64(idmap + page));
  const hypVaBits = p.hypVaBits === 'max-idmap-va' ? Math.max(idmapBits, v) : idmapBits;
  const first = kept[0];
  const last = kept[kept.length - 1];
  if (!first || !last) throw new Error('no DRAM kept');
  const offStart = first.base - memstart;
  const offLast = last.base + last.size - 1n - memstart;
  const privateBase = idmap - boot.privateBytes;
  let linearLo: bigint; // the hyp linear range [linearLo, linearHi), as kvm_mmu_init checks it
  let linearHi: bigint;
  let unmappable: PhysRange[];
  let privateExhausted: boolean;
  let separated = false; // the top bit keeps the linear alias and the ID map's half apart
  if (v === 52 && p.hypLayout52 === 'low-window-48') {
    // seed 001 lists.cs.columbia.edu/mailman/listinfo/kvmarm, v1: linear offset o lives at 2^48 + o
    linearLo = bit(48);
    linearHi = bit(48) + offLast;
    unmappable = clipRanges(kept, memstart + bit(hypVaBits) - bit(48), bit(64));
    privateExhausted = boot.privateBytes > idmap;
  } else {
    separated = ((offStart ^ offLast) & bit(v - 1)) === 0n;
    if (separated) {
      // the alias's top bit is the opposite of the ID map's bit V-1: set when that is clear
      const top = (idmap & bit(v - 1)) === 0n;
      unmappable = top && hypVaBits < v ? [...kept] : [];
      linearLo = 0n;
      linearHi = 0n;
    } else {
      // no bit left for the tag: the alias is the linear offset itself
      linearLo = 0n;
      linearHi = offLast;
      unmappable = clipRanges(kept, memstart + bit(hypVaBits), bit(64));
    }
    // the private range must stay in the ID map's half (bit V-1 unchanged)
    privateExhausted = boot.privateBytes > idmap % bit(v - 1);
  }
  const idmapInLinear = !separated && idmap >= linearLo && idmap < linearHi;
  const kernelEnd = boot.kernel.base + boot.kernel.size;
  const kernelUnmappable = unmappable.some((r) => overlaps(r.base, r.base + r.size, boot.kernel.base, kernelEnd));
  const init: HypInit = idmapInLinear
    ? 'idmap-intersects-hyp-va'
    : kernelUnmappable
      ? 'hyp-va-range'
      : privateExhausted
        ? 'private-va-exhausted'
        : 'ok';
  const privateInLinear = !privateExhausted && !separated && overlaps(privateBase, idmap, linearLo, linearHi + 1n);
  return { kind: 'hyp', init, hypVaBits, unmappable: normaliseRanges(unmappable), idmapInLinear, privateInLinear };
}

/** The whole outcome of a boot. */
export function layout(c: LayoutCase, p: Profile): LayoutOutcome {
  const boot = c.boot === 'own' ? QEMU_VIRT_BOOT : c.boot;
  const v = vaBitsActual(c.host);
  const { size, cap51 } = linearRegion(v, c.host.mode, p);
  const { kept, memstart } = keptDram(boot, size, memstartAlign(c.host.granule));
  const dropped = subtractRanges(clipRanges(normaliseRanges(boot.banks), 0n, bit(52)), kept);
  return { linearCap51: cap51, kept, dropped, el2: el2Layout(c.host, v, boot, kept, memstart, p) };
}

/** The thread's requirement: every byte of DRAM the kernel keeps is mappable at EL2. */
export function el2Mappable(c: LayoutCase, p: Profile): El2MappableOutcome {
  const el2 = layout(c, p).el2;
  return { unmappable: el2.kind === 'hyp' ? el2.unmappable : [] };
}

/** What the boot log shows: the mode KVM initialised in (or failure) and the cap decision. */
export function bootLog(c: LayoutCase, p: Profile): BootLogOutcome {
  const o = layout(c, p);
  const failed = o.el2.kind === 'hyp' && o.el2.init !== 'ok';
  return { kvm: failed ? 'failed' : c.host.mode, linearCap51: o.linearCap51 };
}
