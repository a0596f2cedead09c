// vm-create observations: the limit a host reports, and what a type word gives.

import { KVM_CAP_ARM_VM_IPA_SIZE } from '../../arch/kvm.ts';
import { pageSize } from '../../arch/host.ts';
import {
  FIRST_ACCESS_IPA,
  type FirstAccess,
  type IpaLimitCase,
  type IpaLimitOutcome,
  type VmCreateCase,
  type VmCreateOutcome,
} from '../../core/cases.ts';
import { isErrno, type Target } from '../../core/target.ts';

export async function observeIpaLimit(c: IpaLimitCase, t: Target): Promise<IpaLimitOutcome> {
  const h = await t.host(c.host);
  return { ipaLimit: await h.checkExtension(KVM_CAP_ARM_VM_IPA_SIZE) };
}

/** Where the k-bit probe slot sits: one page ending one page below 2^k. */
function probeSlotGpa(k: number, page: bigint): bigint {
  return (1n << BigInt(k)) - 2n * page;
}

/**
 * The VM's IPA size as a VMM can see it: the largest k for which a slot just
 * below 2^k is accepted (independent of whether the bound is off by one).
 */
export async function observeVmCreate(c: VmCreateCase, t: Target): Promise<VmCreateOutcome> {
  const h = await t.host(c.host);
  const vm = await h.createVm(c.type);
  if (isErrno(vm)) return { result: 'errno', errno: vm.errno };
  const page = pageSize(c.host.granule);
  const probes: Promise<{ errno: unknown }>[] = [];
  for (let k = 32; k <= 52; k++) {
    probes.push(
      vm.setMemoryRegion({
        slot: k - 31,
        flags: 0,
        guestPhysAddr: probeSlotGpa(k, page),
        memorySize: page,
        userspaceAddr: 0x10_0000_0000n + BigInt(k) * 0x100_0000n,
      }),
    );
  }
  const first = vm.setMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: FIRST_ACCESS_IPA, memorySize: page, userspaceAddr: 'auto' });
  const run = vm.run({
    state: 'el1h',
    access: { kind: 'load', size: 8, ipa: FIRST_ACCESS_IPA, data: 0n, syndromeValid: true },
    nisvToUser: false,
  });
  // awaited together, so a target dying under the pipeline rejects once, not once per request
  const [results, , outcome] = await Promise.all([Promise.all(probes), first, run]);
  await vm.destroy();
  let ipaBits = 31;
  results.forEach((r, i) => {
    if (r.errno === null) ipaBits = 32 + i;
  });
  const firstAccess: FirstAccess =
    outcome.kind === 'completed' || outcome.kind === 'hang'
      ? outcome.kind
      : outcome.kind === 'run-errno'
        ? { kind: 'run-errno', errno: outcome.errno }
        : { kind: 'other', outcome: outcome.kind };
  return { result: 'created', ipaBits, firstAccess };
}
