// abort observations: what one guest access ends in.

import { KVM_CAP_ARM_NISV_TO_USER } from '../../arch/kvm.ts';
import type { AccessCase, AccessOutcome } from '../../core/cases.ts';
import { isErrno, type Target } from '../../core/target.ts';

export async function observeAccess(c: AccessCase, t: Target): Promise<AccessOutcome> {
  const h = await t.host(c.host);
  const vm = await h.createVm(BigInt(c.ipaBits));
  if (isErrno(vm)) return { vm: vm.errno };
  const setup: Promise<unknown>[] = [];
  if (c.nisvToUser) setup.push(vm.enableCap(KVM_CAP_ARM_NISV_TO_USER, []));
  for (const s of c.slots) setup.push(vm.setMemoryRegion(s));
  // awaited together, so a target dying under the pipeline rejects once, not once per request
  const [, outcome] = await Promise.all([Promise.all(setup), vm.run({ state: c.state, access: c.access, nisvToUser: c.nisvToUser })]);
  await vm.destroy();
  // a load's value depends on memory contents no rule speaks of
  if (outcome.kind === 'completed') return { vm: 'ok', outcome: { kind: 'completed' } };
  return { vm: 'ok', outcome };
}
