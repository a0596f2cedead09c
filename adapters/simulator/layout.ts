// The simulated kernel's boot-time memory and EL2 layout (seed 001), written after
// arm64_memblock_init() (arch/arm64/mm/init.c), the ID map's T0SZ (head.S),
// kvm_compute_layout() (arch/arm64/kvm/va_layout.c), kvm_mmu_init() and the private VA
// allocator (arch/arm64/kvm/mmu.c). Each older behaviour is a knob (knobs.ts).

import { memstartAlign, pageSize, vaBitsActual } from '../../arch/host.ts';
import type { BootConfig, El2Layout, HostConfig, HypInit, HypLayoutReport, PhysRange } from '../../core/target.ts';
import type { SimKnobs } from './knobs.ts';

const U64 = (1n << 64n) - 1n;
const BIT = (n: number): bigint => 1n << BigInt(n);
const GENMASK = (h: number, l: number): bigint => (h < l ? 0n : (U64 << BigInt(l)) & (U64 >> BigInt(63 - h)) & U64);

function fls64(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

/** memblock, as far as arm64_memblock_init() uses it. */
export class Memblock {
  regions: { base: bigint; end: bigint }[] = [];
  add(base: bigint, size: bigint): void {
    if (size === 0n) return; // memblock_add_range(): `if (!size) return 0;`
    this.regions.push({ base, end: base + size });
    this.regions.sort((a, b) => (a.base < b.base ? -1 : 1));
    const merged: { base: bigint; end: bigint }[] = [];
    for (const r of this.regions) {
      const last = merged[merged.length - 1];
      if (last && r.base <= last.end) last.end = r.end > last.end ? r.end : last.end;
      else merged.push({ ...r });
    }
    this.regions = merged;
  }
  remove(base: bigint, end: bigint): void {
    const out: { base: bigint; end: bigint }[] = [];
    for (const r of this.regions) {
      if (r.end <= base || r.base >= end) out.push(r);
      else {
        if (r.base < base) out.push({ base: r.base, end: base });
        if (r.end > end) out.push({ base: end, end: r.end });
      }
    }
    this.regions = out;
  }
  start(): bigint {
    return this.regions[0]?.base ?? 0n;
  }
  endOfDram(): bigint {
    return this.regions[this.regions.length - 1]?.end ?? 0n;
  }
  ranges(): PhysRange[] {
    return this.regions.map((r) => ({ base: r.base, size: r.end - r.base }));
  }
}

interface Boot {
  readonly kmsg: string[];
  readonly v: number;
  memstart: bigint;
  readonly mb: Memblock;
  readonly cap51: boolean;
}

/** arm64_memblock_init() */
function memblockInit(host: HostConfig, boot: BootConfig, k: SimKnobs, kmsg: string[]): Boot {
  const v = vaBitsActual(host);
  // PAGE_END - _PAGE_OFFSET(vabits_actual); PAGE_END = -2^(VA_BITS_MIN-1)
  const vaBitsMin = Math.min(v, 48);
  const pageEnd = (U64 + 1n - BIT(vaBitsMin - 1)) & U64;
  const pageOffset = (U64 + 1n - BIT(v)) & U64;
  let linearRegionSize = (pageEnd - pageOffset) & U64;
  if (v === 52 && k.linearRegion52 === 'half') linearRegionSize = BIT(51); // before f4693c2716b3
  let cap51 = false;
  // KVM built in, vabits_actual == 52, hyp mode available, the kernel not running at EL2
  if (k.linearCap51 === 'nvhe-on-lva' && v === 52 && host.mode !== 'vhe') {
    kmsg.push('Capping linear region to 51 bits for KVM in nVHE mode on LVA capable hardware.');
    cap51 = true;
    if (linearRegionSize > BIT(51)) linearRegionSize = BIT(51);
  }
  const mb = new Memblock();
  for (const b of boot.banks) mb.add(b.base, b.size);
  mb.remove(BIT(52), U64); // PHYS_MASK_SHIFT
  const align = memstartAlign(host.granule);
  let memstart = (mb.start() / align) * align;
  if (mb.endOfDram() - memstart > linearRegionSize) kmsg.push("Memory doesn't fit in the linear mapping, VA_BITS too small");
  const kernelEnd = boot.kernel.base + boot.kernel.size;
  mb.remove(memstart + linearRegionSize > kernelEnd ? memstart + linearRegionSize : kernelEnd, U64);
  if (memstart + linearRegionSize < mb.endOfDram()) {
    memstart = ((mb.endOfDram() - linearRegionSize + align - 1n) / align) * align;
    mb.remove(0n, memstart);
  }
  // PARange is 52 bits here, never less than the linear region: no randomisation of memstart
  return { kmsg, v, memstart, mb, cap51 };
}

/** __phys_to_virt */
function phys2virt(b: Boot, pa: bigint): bigint {
  return ((pa - b.memstart) | ((U64 + 1n - BIT(b.v)) & U64)) & U64;
}

function hypEl2(host: HostConfig, boot: BootConfig, k: SimKnobs, b: Boot): El2Layout {
  const page = pageSize(host.granule);
  const v = b.v;
  const idmapStart = ((boot.kernel.base + boot.idmapOffset) / page) * page;
  const idmapEnd = idmapStart + page; // __idmap_text_end
  // head.S: T0SZ = TCR_T0SZ(VA_BITS) (later VA_BITS_MIN), extended when clz(__idmap_text_end) is smaller
  const defaultBits = k.idmapT0sz === 'va-bits' ? v : Math.min(v, 48);
  const clz = 64 - fls64(idmapEnd);
  const idmapBits = Math.max(defaultBits, 64 - clz);
  const hypVaBits = k.hypVaBits === 'max-idmap-vabits' ? Math.max(idmapBits, v) : idmapBits;
  const limit = BIT(hypVaBits);

  // kern_hyp_va()
  let hyp: (kva: bigint) => bigint;
  let privateOk: (base: bigint, ioMapBase: bigint) => boolean;
  if (v === 52 && k.hypLayout === 'low-window-48') {
    // seed 001 v1: [0, 2^48) ID map + private VA, [2^48, 2^52) the linear region
    const pageOffset = (U64 + 1n - BIT(v)) & U64;
    hyp = (kva) => BIT(48) + ((kva - pageOffset) & U64);
    privateOk = (base, io) => base <= io; // no wrap below 0
  } else {
    // kvm_compute_layout()
    let hypVaMsb = boot.kernel.base + boot.idmapOffset; // __pa_symbol(__hyp_idmap_text_start)
    hypVaMsb &= BIT(v - 1);
    hypVaMsb ^= BIT(v - 1);
    const highMemory = phys2virt(b, b.mb.endOfDram() - 1n) + 1n;
    const tagLsb = fls64(phys2virt(b, b.mb.start()) ^ ((highMemory - 1n) & U64));
    const vaMask = GENMASK(tagLsb - 1, 0);
    let tagVal = hypVaMsb;
    if (tagLsb !== v - 1) tagVal |= boot.tag & GENMASK(v - 2, tagLsb); // CONFIG_RANDOMIZE_BASE
    tagVal >>= BigInt(tagLsb);
    hyp = (kva) => ((kva & vaMask) | (tagVal << BigInt(tagLsb))) & U64;
    // hyp_alloc_private_va_range(): BIT(vabits_actual - 1) must not flip
    privateOk = (base, io) => ((base ^ io) & BIT(v - 1)) === 0n;
  }

  // kvm_mmu_init(): the ID map page against [kern_hyp_va(PAGE_OFFSET), kern_hyp_va(high_memory - 1))
  const pageOffset = (U64 + 1n - BIT(v)) & U64;
  const highMemory = phys2virt(b, b.mb.endOfDram() - 1n) + 1n;
  const linLo = hyp(pageOffset);
  const linLast = hyp((highMemory - 1n) & U64);
  const idmapInLinear = idmapStart >= linLo && idmapStart < linLast;

  // the hyp aliases of kept DRAM: an affine piece per kept range, cut at 2^hyp_va_bits
  const unmappable: PhysRange[] = [];
  for (const r of b.mb.ranges()) {
    const h0 = hyp(phys2virt(b, r.base));
    const hLast = hyp(phys2virt(b, r.base + r.size - 1n));
    if (h0 >= limit) unmappable.push(r);
    else if (hLast >= limit) unmappable.push({ base: r.base + (limit - h0), size: r.size - (limit - h0) });
  }
  const kernelEnd = boot.kernel.base + boot.kernel.size;
  const kernelMapped = [boot.kernel.base, kernelEnd - 1n].every((pa) => hyp(phys2virt(b, pa)) < limit);

  // io_map_base = hyp_idmap_start; private VA grows down from it
  const privBase = (idmapStart - boot.privateBytes) & U64;
  const privateAllocated = privateOk(privBase, idmapStart);
  const privateInLinear = privateAllocated && privBase <= linLast && linLo < idmapStart;

  let init: HypInit = 'ok';
  if (idmapInLinear) {
    b.kmsg.push('kvm [1]: IDMAP intersecting with HYP VA, unable to continue', 'kvm [1]: error initializing Hyp mode: -22');
    init = 'idmap-intersects-hyp-va';
  } else if (!kernelMapped) {
    b.kmsg.push('kvm [1]: Cannot map world-switch code', 'kvm [1]: error initializing Hyp mode: -34');
    init = 'hyp-va-range';
  } else if (!privateAllocated) {
    b.kmsg.push('kvm [1]: Cannot allocate hyp private VA range', 'kvm [1]: error initializing Hyp mode: -12');
    init = 'private-va-exhausted';
  }
  return { kind: 'hyp', init, hypVaBits, unmappable, idmapInLinear, privateInLinear };
}

/** Boots `boot` on `host` and reports the layout. */
export function simulateBoot(host: HostConfig, boot: BootConfig, k: SimKnobs): HypLayoutReport {
  const kmsg: string[] = [];
  const b = memblockInit(host, boot, k, kmsg);
  const kept = b.mb.ranges();
  const all = new Memblock();
  for (const r of boot.banks) all.add(r.base, r.size);
  all.remove(BIT(52), U64);
  for (const r of kept) all.remove(r.base, r.base + r.size);
  const el2: El2Layout = host.mode === 'vhe' ? { kind: 'vhe' } : hypEl2(host, boot, k, b);
  const failed = el2.kind === 'hyp' && el2.init !== 'ok';
  if (!failed) {
    kmsg.push(
      host.mode === 'vhe'
        ? 'kvm [1]: VHE mode initialized successfully'
        : host.mode === 'protected'
          ? 'kvm [1]: Protected nVHE mode initialized successfully'
          : 'kvm [1]: Hyp mode initialized successfully',
    );
  }
  return { kvm: failed ? 'failed' : host.mode, linearCap51: b.cap51, kept, dropped: all.ranges(), el2, kmsg };
}
