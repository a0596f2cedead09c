// The simulated kernel's KVM/arm64 init and VM creation: kvm_set_ipa_limit(),
// kvm_init_ipa_range() and kvm_get_vtcr(), written after the C code.

import type { HostConfig } from '../../core/target.ts';
import type { Errno } from '../../arch/errno.ts';
import { ARM64_MIN_PARANGE_BITS, pageShift, parangeToPhysShift } from '../../arch/host.ts';
import { KVM_PHYS_SHIFT, KVM_VM_TYPE_ARM_IPA_SIZE_MASK } from '../../arch/kvm.ts';
import { VTCR, TG0 } from '../../arch/vtcr.ts';
import { cpuidField, idAa64mmfr0 } from './cpu.ts';
import type { SimKnobs } from './knobs.ts';

function pageShiftOf(host: HostConfig): number {
  return pageShift(host.granule);
}

/** kvm_set_ipa_limit() */
export function kvmSetIpaLimit(host: HostConfig, k: SimKnobs): number {
  const mmfr0 = idAa64mmfr0(host);
  let parange = cpuidField(mmfr0, 0);
  // v4.20 read the field as `& 0x7`: reserved values 8..14 alias 0..6
  if (k.parangeRead === 'and-7') parange &= 7;
  switch (k.ipaLimitClamp) {
    case 'stage1-levels': {
      parange &= 7;
      const paMax = parangeToPhysShift(parange, host.kernelPaBits);
      let ipaMax = Math.min(paMax, host.kernelPaBits);
      const pageShift = pageShiftOf(host);
      const pgtableLevels = Math.floor((host.vaBits - 4) / (pageShift - 3)); // ARM64_HW_PGTABLE_LEVELS
      const pgdirShift = (pageShift - 3) * (4 - (4 - pgtableLevels)) + 3; // ARM64_HW_PGTABLE_LEVEL_SHIFT(4 - levels)
      let vaMax = pgdirShift + pageShift - 3;
      vaMax += 4; // up to 16 concatenated tables at entry level
      if (vaMax < ipaMax) ipaMax = vaMax;
      return ipaMax;
    }
    case 'none':
      return parangeToPhysShift(parange, host.kernelPaBits);
    case 'cap48':
      if (pageShiftOf(host) !== 16) parange = Math.min(parange, 5);
      return parangeToPhysShift(parange, host.kernelPaBits);
    case 'cap48-unless-lpa2':
      if (!host.lpa2 && pageShiftOf(host) !== 16) parange = Math.min(parange, 5);
      return parangeToPhysShift(parange, host.kernelPaBits);
  }
}

/** ARM64_HW_PGTABLE_LEVELS(va_bits) */
function hwPgtableLevels(vaBits: number, pageShift: number): number {
  return Math.floor((vaBits - 4) / (pageShift - 3));
}

/** stage2_pgtable_levels(ipa): up to 16 tables concatenated at the start level. */
function stage2PgtableLevels(ipa: number, pageShift: number): number {
  return hwPgtableLevels(ipa - 4, pageShift);
}

/** kvm_get_vtcr(): T0SZ from the IPA size, SL0 from the levels, PS from the host PARange. */
export function kvmGetVtcr(host: HostConfig, physShift: number): bigint {
  const pageShift = pageShiftOf(host);
  let vtcr = 0n;
  let parange = cpuidField(idAa64mmfr0(host), 0) & 7;
  if (parange > 6) parange = 6; // ID_AA64MMFR0_EL1_PARANGE_MAX
  vtcr |= BigInt(parange) << VTCR.PS_SHIFT;
  vtcr |= BigInt(64 - physShift) & VTCR.T0SZ_MASK;
  let lvls = stage2PgtableLevels(physShift, pageShift);
  if (lvls < 2) lvls = 2;
  // VTCR_EL2_LVLS_TO_SL0: 4K counts SL0 from level 2, 16K/64K from level 3
  const startLevel = 4 - lvls;
  const sl0 = pageShift === 12 ? 2 - startLevel : 3 - startLevel;
  vtcr |= BigInt(sl0) << VTCR.SL0_SHIFT;
  vtcr |= TG0[host.granule] << VTCR.TG0_SHIFT;
  if (host.lpa2) vtcr |= VTCR.DS;
  return vtcr;
}

export interface SimVmConfig {
  readonly physShift: number;
  readonly vtcr: bigint;
}

/** kvm_init_ipa_range(): the type word to an IPA size and VTCR_EL2, or an errno. */
export function kvmInitIpaRange(host: HostConfig, type: bigint, limit: number, k: SimKnobs): SimVmConfig | Errno {
  if (k.typeMaskCheck === 'first' && (type & ~KVM_VM_TYPE_ARM_IPA_SIZE_MASK) !== 0n) return 'EINVAL';
  let physShift = Number(type & KVM_VM_TYPE_ARM_IPA_SIZE_MASK);
  if (k.protectedForcesLimit && host.mode === 'protected') {
    physShift = limit;
  } else if ((type & ~KVM_VM_TYPE_ARM_IPA_SIZE_MASK) !== 0n) {
    return 'EINVAL';
  } else if (physShift !== 0) {
    if (physShift > limit || physShift < ARM64_MIN_PARANGE_BITS) return 'EINVAL';
  } else {
    physShift = KVM_PHYS_SHIFT;
    if (physShift > limit) {
      if (k.defaultIpaBelowLimit === 'reject') return 'EINVAL';
      if (k.defaultIpaBelowLimit === 'cap') physShift = limit;
      // 'accept': carry on with 40 bits whatever the hardware says
    }
  }
  return { physShift, vtcr: kvmGetVtcr(host, physShift) };
}
