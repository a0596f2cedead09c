// mte observations (seed 003): enable KVM_CAP_ARM_MTE as the case plans, map the slot's
// backing, make the memslot, optionally replace the mapping under it, and run one access.

import { KVM_CAP_ARM_MTE } from '../../arch/kvm.ts';
import type { MteCase, MteOutcome, SlotResult } from '../../core/cases.ts';
import { MTE_SLOT, MTE_SLOT_GPA, MTE_SLOT_SIZE, MTE_VM_TYPE, MTE_WARMUP_IPA } from '../../core/cases.ts';
import { isErrno, type RunOutcome, type Target, type VmHandle } from '../../core/target.ts';

const load = (ipa: bigint) => ({ kind: 'load' as const, size: 8 as const, ipa, data: 0n, syndromeValid: true });

async function planCap(c: MteCase, vm: VmHandle): Promise<SlotResult[]> {
  const enable = async (flags: number): Promise<SlotResult> => (await vm.enableCap(KVM_CAP_ARM_MTE, [], flags)).errno ?? 'ok';
  switch (c.cap) {
    case 'none':
      return [];
    case 'before-vcpu':
      return [await enable(0)];
    case 'twice':
      return [await enable(0), await enable(0)];
    case 'bad-flags':
      return [await enable(1)];
    case 'after-vcpu':
      // the first KVM_RUN creates the vCPU (an access to unbacked IPA: an MMIO exit)
      await vm.run({ state: 'el1h', access: load(MTE_WARMUP_IPA), nisvToUser: false });
      return [await enable(0)];
  }
}

export async function observeMte(c: MteCase, t: Target): Promise<MteOutcome> {
  const h = await t.host(c.host);
  h.setCpuFeatures?.({ mte: c.hostMte, mtePerm: c.mtePerm });
  const vm = await h.createVm(MTE_VM_TYPE);
  if (isErrno(vm)) throw new Error(`KVM_CREATE_VM(${MTE_VM_TYPE}) failed: ${vm.errno}`);
  let uaddr: bigint | undefined;
  try {
    if (!vm.mapBacking) throw new Error('the target cannot map VMM memory of a chosen kind');
    const enable = await planCap(c, vm);
    const b = await vm.mapBacking({ ...c.backing, size: MTE_SLOT_SIZE });
    if ('unsupported' in b) throw new Error(`backing ${c.backing.kind}: ${b.unsupported}`);
    uaddr = b.uaddr;
    const slot = await vm.setMemoryRegion({
      slot: MTE_SLOT,
      flags: 0,
      guestPhysAddr: MTE_SLOT_GPA,
      memorySize: MTE_SLOT_SIZE,
      userspaceAddr: b.uaddr,
    });
    if (slot.errno !== null) return { enable, memslot: slot.errno, run: null };
    if (c.remap) {
      const r = await vm.mapBacking({ ...c.remap, size: MTE_SLOT_SIZE, at: b.uaddr });
      if ('unsupported' in r) throw new Error(`remap to ${c.remap.kind}: ${r.unsupported}`);
    }
    const access = c.access === 'store' ? { ...load(MTE_SLOT_GPA), kind: 'store' as const, data: 0x5a5an } : load(MTE_SLOT_GPA);
    const o = await vm.run({ state: 'el1h', access, nisvToUser: false, ...(c.access === 'tag-load' ? { tagAccess: true } : {}) });
    // the value a load returned is not part of the rules
    const run: RunOutcome = o.kind === 'completed' ? { kind: 'completed' } : o;
    return { enable, memslot: 'ok', run };
  } finally {
    await vm.destroy();
    if (uaddr !== undefined) await vm.unmapBacking?.(uaddr, MTE_SLOT_SIZE);
  }
}
