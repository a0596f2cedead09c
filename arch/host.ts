// Host-side architecture constants shared by the oracle and the simulator.

export type Granule = 4 | 16 | 64;
export type KvmMode = 'vhe' | 'nvhe' | 'protected';

export const GRANULES: readonly Granule[] = [4, 16, 64];
export const KVM_MODES: readonly KvmMode[] = ['vhe', 'nvhe', 'protected'];

/** ARM64_MIN_PARANGE_BITS (asm/cpufeature.h): the smallest PA size, PARange 0. */
export const ARM64_MIN_PARANGE_BITS = 32;

/** ID_AA64MMFR0_EL1.PARange (and VTCR_EL2.PS) encoding → physical address bits. */
export const PARANGE_BITS: readonly number[] = [32, 36, 40, 42, 44, 48, 52];

/** Bits for a PARange field value; reserved encodings (7..15) have none. */
export function parangeBits(parange: number): number | undefined {
  return PARANGE_BITS[parange];
}

/** id_aa64mmfr0_parange_to_phys_shift(): a reserved PARange means what the kernel supports (CONFIG_ARM64_PA_BITS). */
export function parangeToPhysShift(parange: number, kernelPaBits: number): number {
  return PARANGE_BITS[parange] ?? kernelPaBits;
}

/** PAGE_SHIFT of a granule. */
export function pageShift(g: Granule): number {
  return g === 4 ? 12 : g === 16 ? 14 : 16;
}

/** The granule of a page size in bytes (getpagesize(), CONFIG_ARM64_*K_PAGES); undefined for any other size. */
export function granuleOfPageSize(bytes: number): Granule | undefined {
  return GRANULES.find((g) => Number(pageSize(g)) === bytes);
}

/** The widest input a stage-2 walk of this granule takes: 52 bits with 64K pages or LPA2 (VTCR_EL2.DS), else 48. */
export function granuleMaxIpaBits(h: { readonly granule: Granule; readonly lpa2: boolean }): number {
  return h.granule === 64 || h.lpa2 ? 52 : 48;
}

/** The IPA sizes a host can express: up to its PA size and what its stage-2 granule can walk. */
export function expressibleIpaBits(h: {
  readonly parange: number;
  readonly kernelPaBits: number;
  readonly granule: Granule;
  readonly lpa2: boolean;
}): number {
  return Math.min(parangeToPhysShift(h.parange, h.kernelPaBits), granuleMaxIpaBits(h));
}

export function pageSize(g: Granule): bigint {
  return 1n << BigInt(pageShift(g));
}

/**
 * vabits_actual: the kernel's VA size at run time. A 52-bit build only gets 52 bits
 * on hardware that has them (FEAT_LVA with 64K pages, FEAT_LPA2 with 4K/16K);
 * otherwise it falls back to VA_BITS_MIN (48).
 */
export function vaBitsActual(h: {
  readonly vaBits: number;
  readonly granule: Granule;
  readonly lpa2: boolean;
  readonly parange: number;
}): number {
  if (h.vaBits < 52) return h.vaBits;
  const lva = h.granule === 64 ? h.parange === 6 : h.lpa2;
  return lva ? 52 : 48;
}

/**
 * ARM64_MEMSTART_ALIGN (arch/arm64/mm/init.c, 6.x): PUD_SIZE (4K), 32 * PMD_SIZE (16K),
 * PMD_SIZE (64K), at least the sparsemem section: the alignment of memstart_addr.
 */
export function memstartAlign(g: Granule): bigint {
  return g === 64 ? 1n << 29n : 1n << 30n;
}
