// VTCR_EL2 field layout (Arm ARM D19.2.x). Encodings only.

export const VTCR = {
  T0SZ_MASK: 0x3fn,
  SL0_SHIFT: 6n,
  SL0_MASK: 3n,
  TG0_SHIFT: 14n,
  PS_SHIFT: 16n,
  PS_MASK: 7n,
  DS: 1n << 32n,
  SL2: 1n << 33n,
} as const;

/** VTCR_EL2.TG0 encoding per granule (KiB). */
export const TG0 = { 4: 0n, 64: 1n, 16: 2n } as const;

export function t0sz(vtcr: bigint): number {
  return Number(vtcr & VTCR.T0SZ_MASK);
}
export function sl0(vtcr: bigint): number {
  return Number((vtcr >> VTCR.SL0_SHIFT) & VTCR.SL0_MASK);
}
export function ps(vtcr: bigint): number {
  return Number((vtcr >> VTCR.PS_SHIFT) & VTCR.PS_MASK);
}
export function tg0(vtcr: bigint): number {
  return Number((vtcr >> VTCR.TG0_SHIFT) & 3n);
}
