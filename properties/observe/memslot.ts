// memslot observations: the result of every KVM_SET_USER_MEMORY_REGION in order.

import type { MemslotCase, MemslotOutcome, SlotResult } from '../../core/cases.ts';
import { isErrno, type Target } from '../../core/target.ts';

export async function observeMemslots(c: MemslotCase, t: Target): Promise<MemslotOutcome> {
  const h = await t.host(c.host);
  const vm = await h.createVm(c.vmType);
  if (isErrno(vm)) return { vm: vm.errno, results: [] };
  // issued back to back; each call sees the table its predecessors left
  const pending = c.ops.map((op) => vm.setMemoryRegion(op));
  const results: SlotResult[] = (await Promise.all(pending)).map((r) => r.errno ?? 'ok');
  await vm.destroy();
  return { vm: 'ok', results };
}
