// Exception vector offsets and the AArch32 fault status register layout
// (Arm ARM D1.10, G5.13): encodings shared by the oracle and the simulator.
// Names as in arch/arm64/kvm/hyp/exception.c and arch/arm64/kvm/inject_fault.c.

/** AArch64: offset of the synchronous entry from VBAR_EL1, by where the exception came from. */
export const CURRENT_EL_SP_EL0_VECTOR = 0x000;
export const CURRENT_EL_SP_ELx_VECTOR = 0x200;
export const LOWER_EL_AArch64_VECTOR = 0x400;
export const LOWER_EL_AArch32_VECTOR = 0x600;

/** AArch32: offsets from the vector base (enter_exception32(..., 12) and (..., 16)). */
export const A32_PABT_VECTOR = 0x0c;
export const A32_DABT_VECTOR = 0x10;

/** DFSR/IFSR: the LPAE (long-descriptor) format bit, WnR, and the external abort status in each format. */
export const DFSR_LPAE = 1n << 9n;
export const DFSR_WNR = 1n << 11n;
export const DFSR_FSC_EXTABT_LPAE = 0x10n;
export const DFSR_FSC_EXTABT_nLPAE = 0x08n;
