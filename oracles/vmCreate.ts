// KVM_CREATE_VM on arm64: the type word and the VM's IPA size.

import { KVM_PHYS_SHIFT, KVM_VM_TYPE_ARM_IPA_SIZE_MASK } from '../arch/kvm.ts';
import { ARM64_MIN_PARANGE_BITS, expressibleIpaBits } from '../arch/host.ts';
import type { VmCreateCase, VmCreateOutcome } from '../core/cases.ts';
import type { HostConfig } from '../core/target.ts';
import { ipaLimit } from './ipaLimit.ts';
import type { Profile } from './profiles.ts';

/** The IPA size a stage-2 walk can actually start for: beyond it VTCR_EL2 is misprogrammed. */
function walkableIpa(host: HostConfig): number {
  // seed 000 "[PATCH] KVM: arm64: Cap default IPA size to the host's own size" (linux-arm-kernel): T0SZ beyond the PA size the CPU implements faults at level 0, forever;
  // 5e5df9571c31: without LPA2, 4K/16K stage 2 cannot start a walk above 48 bits
  return expressibleIpaBits(host);
}

function created(host: HostConfig, ipaBits: number): VmCreateOutcome {
  return { result: 'created', ipaBits, firstAccess: ipaBits > walkableIpa(host) ? 'hang' : 'completed' };
}

export function vmCreate(c: VmCreateCase, p: Profile): VmCreateOutcome {
  const limit = ipaLimit(c.host, p);
  // seed 002 "[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM" lists.openwall.net (linux-kernel); 233a7cb23531: only bits [7:0] are defined
  if ((c.type & ~KVM_VM_TYPE_ARM_IPA_SIZE_MASK) !== 0n) return { result: 'errno', errno: 'EINVAL' };
  const requested = Number(c.type & KVM_VM_TYPE_ARM_IPA_SIZE_MASK);
  // pKVM: protected mode sizes every VM at the limit, whatever was asked
  if (p.protectedForcesLimit && c.host.mode === 'protected') return created(c.host, limit);
  if (requested !== 0) {
    // seed 002 "[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM" lists.openwall.net (linux-kernel); 233a7cb23531: explicit sizes need 32 <= N <= limit
    if (requested > limit || requested < ARM64_MIN_PARANGE_BITS) return { result: 'errno', errno: 'EINVAL' };
    return created(c.host, requested);
  }
  if (KVM_PHYS_SHIFT <= limit) return created(c.host, KVM_PHYS_SHIFT);
  switch (p.defaultIpa) {
    case 'accept-misprogrammed':
      // seed 000 "[PATCH] KVM: arm64: Cap default IPA size to the host's own size" (linux-arm-kernel); before 7d717558dd5e: 40 bits accepted unchecked, VTCR_EL2.T0SZ bogus
      return created(c.host, KVM_PHYS_SHIFT);
    case 'cap-to-limit':
      // seed 000 "[PATCH] KVM: arm64: Cap default IPA size to the host's own size" (linux-arm-kernel), v1: the default is capped to the host's own size
      return created(c.host, limit);
    case 'reject':
      // seed 000 "[PATCH] KVM: arm64: Cap default IPA size to the host's own size" (linux-arm-kernel); 7d717558dd5e: "using unsupported default IPA limit, upgrade your VMM"
      return { result: 'errno', errno: 'EINVAL' };
  }
}
