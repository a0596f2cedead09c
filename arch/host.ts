// Host-side architecture constants shared by the oracle and the simulator.

export type Granule = 4 | 16 | 64;
export type KvmMode = 'vhe' | 'nvhe' | 'protected';

export const GRANULES: readonly Granule[] = [4, 16, 64];
export const KVM_MODES: readonly KvmMode[] = ['vhe', 'nvhe', 'protected'];

/** ID_AA64MMFR0_EL1.PARange (and VTCR_EL2.PS) encoding → physical address bits. */
export const PARANGE_BITS: readonly number[] = [32, 36, 40, 42, 44, 48, 52];

/** Bits for a PARange field value; reserved encodings (7..15) have none. */
export function parangeBits(parange: number): number | undefined {
  return PARANGE_BITS[parange];
}

/** The PARange encoding for an exact bit count, if the architecture has one. */
export function parangeOf(bits: number): number | undefined {
  const i = PARANGE_BITS.indexOf(bits);
  return i < 0 ? undefined : i;
}

export function pageShift(g: Granule): number {
  return g === 4 ? 12 : g === 16 ? 14 : 16;
}

export function pageSize(g: Granule): bigint {
  return 1n << BigInt(pageShift(g));
}
