// Exception vector offsets and the AArch32 fault status register layout
// (Arm ARM D1.10, G5.13): encodings shared by the oracle and the simulator.

/** AArch64: offset of the synchronous entry from VBAR_EL1, by where the exception came from. */
export const VECTOR = {
  CURRENT_SP0: 0x000,
  CURRENT_SPX: 0x200,
  LOWER_AARCH64: 0x400,
  LOWER_AARCH32: 0x600,
} as const;

/** AArch32: offsets from the vector base. */
export const A32_VECTOR = { PABT: 0x0c, DABT: 0x10 } as const;

/** DFSR/IFSR: LPAE (long-descriptor) format bit, WnR, and the external abort status in each format. */
export const FSR32 = {
  LPAE: 1n << 9n,
  WNR: 1n << 11n,
  EXTABT_LPAE: 0x10n,
  EXTABT_SHORT: 0x08n,
} as const;
