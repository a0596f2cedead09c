// Host IPA limit: the value of KVM_CAP_ARM_VM_IPA_SIZE (kvm_set_ipa_limit).

import { pageShift, parangeToPhysShift } from '../arch/host.ts';
import type { HostConfig } from '../core/target.ts';
import type { Profile } from './profiles.ts';

const PARANGE_48 = 5;

export function ipaLimit(host: HostConfig, p: Profile): number {
  switch (p.ipaLimit) {
    case 'clamp-v4.20': {
      // seed 002 "[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM" lists.openwall.net (linux-kernel); 233a7cb23531: parange & 7, clamped to PHYS_MASK_SHIFT and to stage-1 levels + 4 (concatenation)
      const paMax = parangeToPhysShift(host.parange & 7, host.kernelPaBits);
      const ipaMax = Math.min(paMax, host.kernelPaBits);
      const shift = pageShift(host.granule);
      const levels = Math.floor((host.vaBits - 4) / (shift - 3));
      const pgdirShift = (shift - 3) * levels + 3;
      const vaMax = pgdirShift + shift - 3 + 4;
      return Math.min(ipaMax, vaMax);
    }
    case 'unclamped':
      // c9b69a0cf0b4: the sanitised PARange alone
      return parangeToPhysShift(host.parange, host.kernelPaBits);
    case 'cap48-4k16k': {
      // 5e5df9571c31: 4K and 16K pages cannot map more than 48 bits at stage 2
      const pr = host.granule === 64 ? host.parange : Math.min(host.parange, PARANGE_48);
      return parangeToPhysShift(pr, host.kernelPaBits);
    }
    case 'lpa2': {
      // d782ac5b2cee: the 48-bit cap applies only without LPA2
      const pr = host.granule === 64 || host.lpa2 ? host.parange : Math.min(host.parange, PARANGE_48);
      return parangeToPhysShift(pr, host.kernelPaBits);
    }
  }
}
