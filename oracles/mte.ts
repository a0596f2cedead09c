// Seed 003: MTE VMs and the memory behind their memslots.
//
// The rules, as the kernel and the thread state them:
// - KVM_ENABLE_CAP(KVM_CAP_ARM_MTE): EINVAL with flags != 0, on a host without MTE, or once
//   a vCPU exists (kvm_vm_ioctl_enable_cap: `!system_supports_mte() || kvm->created_vcpus`);
//   enabling it again before any vCPU is 0. Unknown before 5.14 (EINVAL, the default case).
// - Which VMAs carry VM_MTE_ALLOWED: anonymous mappings, private or shared (9f3419315f3c,
//   arch_calc_vm_flag_bits on MAP_ANONYMOUS), shmem files, i.e. memfd and tmpfs (51b0bff2f703),
//   hugetlbfs files from 6.13 (25c17c4b55de); never ramfs files nor VM_PFNMAP (/dev/mem).
// - An MTE VM's memslot (kvm_arch_prepare_memory_region, after the IPA bound): up to 6.1 any
//   VM_SHARED VMA is EINVAL; from 6.2 (d89585fbb308, c911f0d46879) any VMA without
//   VM_MTE_ALLOWED is EINVAL, shared or not.
// - At fault time (user_mem_abort), for a translation fault on a page KVM maps cacheable: the
//   same VMA test again, -EFAULT out of KVM_RUN when the VMM has put a refused VMA under the
//   slot since; a non-cacheable (Device, PFNMAP of non-RAM) mapping skips it.
// - Seed 003 (not merged): with FEAT_MTE_PERM the memslot test lets every VMA through, and a
//   page without VM_MTE_ALLOWED is mapped with the NoTagAccess *memory attribute* (MemAttr
//   0b0100, Normal WB): a tag access exits with KVM_EXIT_ARM_NOTAG_ACCESS (gpa, size).

import type { Backing, MteCase, MteOutcome, SlotResult } from '../core/cases.ts';
import { MTE_SLOT_GPA } from '../core/cases.ts';
import { pageSize } from '../arch/host.ts';
import type { RunOutcome } from '../core/target.ts';
import type { Profile } from './profiles.ts';

/** The VMA flags the rules read. */
export interface VmaFlags {
  readonly shared: boolean;
  readonly mteAllowed: boolean;
  readonly pfnmap: boolean;
  /** the mapping is Normal cacheable (kvm_vma_is_cacheable / !kvm_is_device_pfn) */
  readonly cacheable: boolean;
}

/** The flags a backing's VMA gets under a profile. */
export function vmaFlags(b: Backing, p: Profile): VmaFlags {
  const shared = b.kind === 'pfnmap' ? true : b.shared;
  switch (b.kind) {
    case 'anon':
    // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; 9f3419315f3c arch_calc_vm_flag_bits: MAP_ANONYMOUS gets VM_MTE_ALLOWED
    case 'memfd':
    case 'tmpfs':
      // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; 51b0bff2f703 mm: Allow arm64 mmap(PROT_MTE) on RAM-based files (shmem_mmap)
      return { shared, mteAllowed: true, pfnmap: false, cacheable: true };
    case 'hugetlb':
      // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; 25c17c4b55de hugetlbfs_file_mmap sets VM_MTE_ALLOWED (6.13)
      return { shared, mteAllowed: p.mteHugetlb, pfnmap: false, cacheable: true };
    case 'ramfs':
      return { shared, mteAllowed: false, pfnmap: false, cacheable: true };
    case 'pfnmap':
      // /dev/mem over non-RAM: remap_pfn_range, pgprot_noncached (Device)
      return { shared, mteAllowed: false, pfnmap: true, cacheable: false };
  }
}

/** The VMA test an MTE VM applies (memslot and fault time alike). */
export function mteRefuses(v: VmaFlags, p: Profile): boolean {
  // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; ea7fc1bb1cd1 (5.14..6.1) refuses VM_SHARED; d89585fbb308 + c911f0d46879 (6.2) refuse !VM_MTE_ALLOWED
  return p.mteVma === 'refuse-shared' ? v.shared : !v.mteAllowed;
}

/** Seed 003 proposal: the refused VMA is taken and mapped NoTagAccess instead, when the host has FEAT_MTE_PERM. */
function noTagInstead(c: MteCase, p: Profile): boolean {
  // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org
  return p.mteNoTagAccess && c.mtePerm;
}

/** Every KVM_ENABLE_CAP(KVM_CAP_ARM_MTE) of the plan and whether MTE ends up enabled. */
export function enableMte(c: MteCase, p: Profile): { results: SlotResult[]; enabled: boolean } {
  const one = (flags: number, vcpus: boolean): SlotResult => {
    // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; ea7fc1bb1cd1 kvm_vm_ioctl_enable_cap: cap->flags, !system_supports_mte() || kvm->created_vcpus
    if (!p.mteCap || flags !== 0 || !c.hostMte || vcpus) return 'EINVAL';
    return 'ok';
  };
  switch (c.cap) {
    case 'none':
      return { results: [], enabled: false };
    case 'before-vcpu': {
      const r = one(0, false);
      return { results: [r], enabled: r === 'ok' };
    }
    case 'twice': {
      const a = one(0, false);
      const b = one(0, false);
      return { results: [a, b], enabled: a === 'ok' || b === 'ok' };
    }
    case 'after-vcpu':
      return { results: [one(0, true)], enabled: false };
    case 'bad-flags':
      return { results: [one(1, false)], enabled: false };
  }
}

/** KVM_SET_USER_MEMORY_REGION over the backing. */
export function mteMemslot(c: MteCase, enabled: boolean, p: Profile): SlotResult {
  if (!enabled) return 'ok'; // no MTE test; the PFNMAP rules need dirty logging or a cacheable PFNMAP
  if (!mteRefuses(vmaFlags(c.backing, p), p)) return 'ok';
  return noTagInstead(c, p) ? 'ok' : 'EINVAL';
}

/** KVM_RUN on the guest's access, with the VMA under the slot at fault time. */
export function mteRun(c: MteCase, enabled: boolean, p: Profile): RunOutcome {
  const vma = vmaFlags(c.remap ?? c.backing, p);
  let noTag = false;
  // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; user_mem_abort: `!fault_is_perm && !device/s2_force_noncacheable && kvm_has_mte(kvm)`
  if (enabled && vma.cacheable && mteRefuses(vma, p)) {
    if (!noTagInstead(c, p)) return { kind: 'run-errno', errno: 'EFAULT' };
    noTag = true;
  }
  if (c.access === 'tag-load' && noTag) {
    // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; KVM_EXIT_ARM_NOTAG_ACCESS: the faulting page
    return { kind: 'notag-access', gpa: MTE_SLOT_GPA, size: pageSize(c.host.granule) };
  }
  return { kind: 'completed' };
}

export function mte(c: MteCase, p: Profile): MteOutcome {
  const { results, enabled } = enableMte(c, p);
  const memslot = mteMemslot(c, enabled, p);
  return { enable: results, memslot, run: memslot === 'ok' ? mteRun(c, enabled, p) : null };
}

// --- the objections of seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org, as checks on a design (a profile)

/** Stage-2 memory types a slot can be mapped with. */
export type MemType = 'normal' | 'normal-nc' | 'device';
export const MEM_TYPES: readonly MemType[] = ['normal', 'normal-nc', 'device'];

/** What a stage-2 leaf ends up as: its memory type and whether tag accesses are allowed. */
export type Stage2Attr = { readonly type: MemType; readonly tags: 'allowed' | 'denied' } | 'EINVAL' | 'not-used';

/**
 * stage2_set_prot_attr() for a mapping of `type` that must deny tag accesses. Mainline never
 * asks (it refuses the slot instead). The proposal adds KVM_PGTABLE_PROT_NORMAL_NOTAGACCESS to
 * the memory-type switch: DEVICE or NORMAL_NC together with it match no case and fall to the
 * default, Normal write-back, tags allowed.
 */
export function stage2DenyTags(type: MemType, p: Profile): Stage2Attr {
  if (!p.mteNoTagAccess) return 'not-used';
  // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; stage2_set_prot_attr: switch (prot & (DEVICE | NORMAL_NC | NORMAL_NOTAGACCESS))
  if (type === 'normal') return { type: 'normal', tags: 'denied' };
  return { type: 'normal', tags: 'allowed' };
}

/**
 * The documented userspace ABI: every outcome a VMM can get, with what it is to do next.
 * Api.rst (KVM_CAP_ARM_MTE, since 6.2): a memslot over memory that cannot hold tags fails with
 * EINVAL; the VMM backs it with anonymous or RAM-based file memory instead. The proposal's
 * KVM_EXIT_ARM_NOTAG_ACCESS has no documentation and no defined sequence ("I will add the
 * details if we agree"; "What is expected sequence a VMM should apply ...?").
 */
export function vmmNextStep(o: MteOutcome): string | null {
  if (o.memslot === 'EINVAL') return 'back the slot with anonymous, memfd or tmpfs memory (api.rst, KVM_CAP_ARM_MTE)';
  if (o.run?.kind === 'run-errno') return 'the VMM changed the mapping under an MTE slot: restore it (api.rst, KVM_CAP_ARM_MTE)';
  // seed 003 "[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported" lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org; KVM_EXIT_ARM_NOTAG_ACCESS: "where is the documentation for this new userspace ABI?"
  if (o.run?.kind === 'notag-access') return null;
  return 'nothing to do';
}
