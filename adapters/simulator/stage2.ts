// Stage-2 translation: page tables the simulated hypervisor fills, and the
// walk the simulated hardware does over them, driven by VTCR_EL2 alone.

import { PARANGE_BITS, pageShift } from '../../arch/host.ts';
import { granuleOfTg0, ps, sl0, t0sz, tg0, VTCR } from '../../arch/vtcr.ts';

/** Tables live in a sparse "physical memory" of their own, one array per table. */
export class Stage2Tables {
  private readonly tables = new Map<bigint, BigUint64Array>();
  private nextTable: bigint;
  readonly root: bigint;

  constructor(
    readonly pageShift: number,
    rootEntries: number,
  ) {
    // tables have their own address space (a separate map from guest memory)
    this.nextTable = 1n << BigInt(pageShift);
    this.root = this.alloc(rootEntries);
  }

  private alloc(entries: number): bigint {
    const pa = this.nextTable;
    this.tables.set(pa, new BigUint64Array(entries));
    this.nextTable += BigInt(Math.max(entries * 8, 1 << this.pageShift));
    return pa;
  }

  table(pa: bigint): BigUint64Array | undefined {
    return this.tables.get(pa);
  }

  /** Install a page descriptor for ipa → pa, creating intermediate tables. */
  map(ipa: bigint, pa: bigint, startLevel: number, rootIndexBits: number, writable: boolean): void {
    const stride = this.pageShift - 3;
    let tablePa = this.root;
    for (let level = startLevel; level <= 3; level++) {
      const shift = BigInt(this.pageShift + stride * (3 - level));
      const bits = level === startLevel ? rootIndexBits : stride;
      const idx = Number((ipa >> shift) & ((1n << BigInt(bits)) - 1n));
      const t = this.tables.get(tablePa);
      if (!t) throw new Error('stage-2 table missing');
      if (level === 3) {
        // page descriptor: valid | page, AF, S2AP (read, and write when allowed)
        const s2ap = writable ? 3n << 6n : 1n << 6n;
        t[idx] = (pa & ~((1n << BigInt(this.pageShift)) - 1n)) | (1n << 10n) | s2ap | 3n;
        return;
      }
      let d = t[idx] ?? 0n;
      if ((d & 3n) !== 3n) {
        const next = this.alloc(1 << stride);
        d = next | 3n;
        t[idx] = d;
      }
      tablePa = d & 0x000f_ffff_ffff_f000n & ~((1n << BigInt(this.pageShift)) - 1n);
    }
  }
}

export type WalkResult =
  | { readonly ok: true; readonly pa: bigint; readonly writable: boolean }
  | { readonly ok: false; readonly fault: 'translation' | 'address-size' | 'permission'; readonly level: number };

/** Start level from VTCR_EL2.{TG0, SL0}, as the architecture decodes it. */
export function startLevel(vtcr: bigint): number {
  const s = sl0(vtcr);
  const g = tg0(vtcr);
  if (g === 0) return [2, 1, 0, 3][s] ?? 2; // 4K (SL0=3 needs FEAT_TTST; treated as level 3)
  return [3, 2, 1, 0][s] ?? 3; // 16K, 64K
}

export function granuleShift(vtcr: bigint): number {
  return pageShift(granuleOfTg0(tg0(vtcr)));
}

/**
 * Is the {T0SZ, SL0} pair one the hardware can start a walk with, given the
 * PA size it implements? If not, every walk faults at level 0 (seed 000).
 */
export function walkConfigValid(vtcr: bigint, hwParange: number): boolean {
  const pageShift = granuleShift(vtcr);
  const stride = pageShift - 3;
  const ia = 64 - t0sz(vtcr);
  const lvl = startLevel(vtcr);
  const paBits = PARANGE_BITS[Math.min(hwParange, 6)] ?? 52;
  const ds = (vtcr & VTCR.DS) !== 0n;
  // the input range cannot be larger than the PA range the CPU implements
  if (ia > paBits) return false;
  // more than 48 bits of input needs LPA2 (4K/16K) or LPA (64K)
  if (ia > 48 && pageShift !== 16 && !ds) return false;
  // the start level must resolve between 1 bit and stride + 4 bits (16 concatenated tables)
  const below = pageShift + stride * (3 - lvl);
  if (ia <= below || ia > below + stride + 4) return false;
  // 4K without LPA2 cannot concatenate at level 0
  if (pageShift === 12 && lvl === 0 && !ds && ia > below + stride) return false;
  return true;
}

/** Entries of the root table(s), concatenation included. */
export function rootIndexBits(vtcr: bigint): number {
  const pageShift = granuleShift(vtcr);
  const stride = pageShift - 3;
  const ia = 64 - t0sz(vtcr);
  return ia - (pageShift + stride * (3 - startLevel(vtcr)));
}

/** The stage-2 walk for one IPA, as the hardware does it. */
export function walk(tables: Stage2Tables, vtcr: bigint, hwParange: number, ipa: bigint, write: boolean): WalkResult {
  if (!walkConfigValid(vtcr, hwParange)) return { ok: false, fault: 'translation', level: 0 };
  const pageShift = granuleShift(vtcr);
  const stride = pageShift - 3;
  const ia = 64 - t0sz(vtcr);
  const first = startLevel(vtcr);
  // beyond T0SZ's input range: a level 0 fault before any table is read (AArch64.S2Translate, IPAIsOutOfRange)
  if (ipa >> BigInt(ia) !== 0n) return { ok: false, fault: 'translation', level: 0 };
  const oaBits = PARANGE_BITS[Math.min(ps(vtcr), hwParange, 6)] ?? 48;
  let tablePa = tables.root;
  for (let level = first; level <= 3; level++) {
    const shift = BigInt(pageShift + stride * (3 - level));
    const bits = level === first ? rootIndexBits(vtcr) : stride;
    const idx = Number((ipa >> shift) & ((1n << BigInt(bits)) - 1n));
    const t = tables.table(tablePa);
    const d = t?.[idx] ?? 0n;
    if ((d & 1n) === 0n) return { ok: false, fault: 'translation', level };
    const oa = d & 0x0000_ffff_ffff_f000n & ~((1n << BigInt(pageShift)) - 1n);
    if (level === 3) {
      if (oa >> BigInt(oaBits) !== 0n) return { ok: false, fault: 'address-size', level };
      const writable = ((d >> 6n) & 2n) !== 0n;
      if (write && !writable) return { ok: false, fault: 'permission', level };
      return { ok: true, pa: oa | (ipa & ((1n << BigInt(pageShift)) - 1n)), writable };
    }
    if ((d & 2n) === 0n) return { ok: false, fault: 'translation', level }; // blocks not used by this model
    tablePa = oa;
  }
  return { ok: false, fault: 'translation', level: 3 };
}
