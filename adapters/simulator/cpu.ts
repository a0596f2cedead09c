// The simulated CPU's ID registers, as the kernel reads them.

import type { HostConfig } from '../../core/target.ts';

/** ID_AA64MMFR0_EL1 with PARange [3:0] and TGranX_2 = 0b0000 ("as stage 1"). */
export function idAa64mmfr0(host: HostConfig): bigint {
  return BigInt(host.parange & 0xf);
}

export function cpuidField(reg: bigint, shift: number, width = 4): number {
  return Number((reg >> BigInt(shift)) & ((1n << BigInt(width)) - 1n));
}

// id_aa64mmfr0_parange_to_phys_shift() is arch/host.ts parangeToPhysShift (an encoding, shared).
