// VTCR_EL2 field layout (Arm ARM D19.2.x). Encodings only.

import type { Granule } from './host.ts';

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

/** The granule a VTCR_EL2.TG0 value selects (the reserved 0b11 read as 64K). */
export function granuleOfTg0(tg0: number): Granule {
  return tg0 === 0 ? 4 : tg0 === 2 ? 16 : 64;
}

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
