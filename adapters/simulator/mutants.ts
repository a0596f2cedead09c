// Named mutants of the simulator: each is a historical kernel bug (or a
// rejected proposal), reproduced by turning the knobs of the simulated kernel
// away from mainline. The suite, run against mainline's rules, has to kill
// every one of them (`npm run mutants`). Mutants are of the simulator only:
// the oracle is never touched. Select one with `--target sim:<name>`.

import type { SimKnobs } from './knobs.ts';

export interface Mutant {
  readonly name: string;
  /** the commit(s) in a few words, for tables */
  readonly ref: string;
  /** what the simulated kernel does wrong, one line */
  readonly bug: string;
  /** the upstream commit the mutant reproduces the kernel before (or the commit that introduced the bug) */
  readonly upstream: string;
  /** where the facts come from: a seed thread and/or a section of docs/kernel/ */
  readonly source: string;
  /** the knobs that differ from MAINLINE_KNOBS */
  readonly knobs: Partial<SimKnobs>;
}

/** A mutant of a family the suite does not have yet: listed, not simulated. */
export interface PendingMutant {
  readonly name: string;
  readonly ref: string;
  readonly bug: string;
  readonly upstream: string;
  readonly source: string;
  /** the family it needs */
  readonly family: string;
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'default-ipa-accepted',
    ref: 'before 7d717558dd5e (v5.12)',
    bug: 'KVM_CREATE_VM(0) on a host whose limit is below 40 bits creates a 40-bit VM: VTCR_EL2.T0SZ beyond PARange, the guest never gets past its first access',
    upstream: 'before 7d717558dd5e (v5.12) KVM: arm64: Reject VM creation when the default IPA size is unsupported',
    source: 'seed 000; docs/kernel/ipa-vmcreate-memslot.md §0.4, §1.4',
    knobs: { defaultIpaBelowLimit: 'accept' },
  },
  {
    name: 'memslot-bound-off-by-one',
    ref: 'before 262b003d059c (v5.12)',
    bug: 'kvm_arch_prepare_memory_region compares base_gfn + npages >= 2^IPA: a slot ending exactly at 2^IPA gets EFAULT',
    upstream: 'before 262b003d059c (v5.12) KVM: arm64: Fix exclusive limit for IPA size',
    source: 'seed 000; docs/kernel/ipa-vmcreate-memslot.md §0.6',
    knobs: { memslotBoundCompare: 'ge' },
  },
  {
    name: 'out-of-range-as-mmio',
    ref: 'before 85ea6b1ec915 (v5.18)',
    bug: 'no range check in kvm_handle_guest_abort: a translation fault beyond the IPA space takes the memslot path (KVM_EXIT_MMIO, NISV, ENOSYS, a prefetch abort at the VA)',
    upstream: 'before 85ea6b1ec915 (v5.18) KVM: arm64: Inject exception on out-of-IPA-range translation fault',
    source: 'seed 004; docs/kernel/abort-injection.md §1.1',
    knobs: { outOfRangeCheck: 'none' },
  },
  {
    name: 'v6.8-permission-gate',
    ref: '11e5ea5242e3 (v6.8), fixed by f5fe0adeed60',
    bug: 'the out-of-range check is gated on esr_fsc_is_permission_fault(): dead code, out-of-range faults go to userspace as before 5.18',
    upstream: '11e5ea5242e3 (v6.8) KVM: arm64: Use helpers to classify exception types reported via ESR; fixed by f5fe0adeed60 (v6.9)',
    source: 'docs/kernel/abort-injection.md §1.4',
    knobs: { outOfRangeCheck: 'split-wrong-class' },
  },
  {
    name: 'seed-004-v1-size-fault',
    ref: 'seed 004 v1 of 85ea6b1ec915',
    bug: 'one check: every translation fault beyond the VM IPA size gets an address size fault, also below the host limit',
    upstream: 'v1 of 85ea6b1ec915 (2022-04-21, not merged)',
    source: 'seed 004; docs/kernel/abort-injection.md §1.2',
    knobs: { outOfRangeCheck: 'asf-beyond-ipa' },
  },
  {
    name: 'overlap-after-ipa-bound',
    ref: '__kvm_set_memory_region order',
    bug: 'kvm_check_memslot_overlap() runs after the arm64 IPA bound: a slot that overlaps another and ends beyond 2^IPA gets EFAULT instead of EEXIST',
    upstream: '__kvm_set_memory_region order (every version): overlap (EEXIST) before kvm_arch_prepare_memory_region (EFAULT)',
    source: 'seed 000; docs/kernel/ipa-vmcreate-memslot.md §0.5 (12, 14)',
    knobs: { overlapCheck: 'after-arch-prepare' },
  },
  {
    name: 'ipa-limit-v4.20-clamps',
    ref: 'before c9b69a0cf0b4 (v5.10)',
    bug: 'kvm_set_ipa_limit still clamps to PHYS_MASK_SHIFT and to the stage-1 levels (+4 bits of concatenation): a 39-bit VA kernel limits VMs to 40 bits',
    upstream: "before c9b69a0cf0b4 (v5.10) KVM: arm64: Don't constrain maximum IPA size based on host configuration",
    source: 'seed 002; docs/kernel/ipa-vmcreate-memslot.md §0.1, §1.1, §1.3',
    knobs: { ipaLimitClamp: 'stage1-levels' },
  },
  {
    name: 'ipa-limit-no-48-cap',
    ref: 'before 5e5df9571c31 (v5.15)',
    bug: 'no 48-bit cap on 4K/16K pages: a 52-bit PARange host without LPA2 reports 52 bits, which stage 2 cannot start a walk for',
    upstream: 'before 5e5df9571c31 (v5.15) KVM: arm64: Restrict IPA size to maximum 48 bits on 4K and 16K page size',
    source: 'docs/kernel/ipa-vmcreate-memslot.md §0.1, §1.5',
    knobs: { ipaLimitClamp: 'none' },
  },
  {
    name: 'ipa-limit-48-cap-ignores-lpa2',
    ref: 'before d782ac5b2cee (v6.8)',
    bug: 'the 48-bit cap applies on 4K/16K even when LPA2 is enabled: an LPA2 host reports 48 instead of 52 bits',
    upstream: 'before d782ac5b2cee (v6.8) KVM: arm64: Allow guests with >48-bit IPA size on FEAT_LPA2 systems',
    source: 'docs/kernel/ipa-vmcreate-memslot.md §0.1, §1.6',
    knobs: { ipaLimitClamp: 'cap48' },
  },
  {
    name: 'parange-and-7',
    ref: '233a7cb23531 (v4.20) `parange & 7`',
    bug: 'PARange read as `& 0x7`: a reserved PARange (8..14) aliases 32..52 bits instead of meaning CONFIG_ARM64_PA_BITS',
    upstream: 'v4.20 kvm_set_ipa_limit (233a7cb23531); cpuid_feature_extract_unsigned_field since c9b69a0cf0b4',
    source: 'docs/kernel/ipa-vmcreate-memslot.md §0.1 (table, v5.10 row)',
    knobs: { parangeRead: 'and-7' },
  },
  {
    name: 'pkvm-force-missing',
    ref: 'before 60dfe093ec13 (v6.2)',
    bug: 'protected mode honours the requested IPA size instead of forcing phys_shift to the limit',
    upstream: 'before 60dfe093ec13 (v6.2) KVM: arm64: Instantiate guest stage-2 page-tables at EL2',
    source: 'docs/kernel/ipa-vmcreate-memslot.md §0.2 (2), §2.3',
    knobs: { protectedForcesLimit: false },
  },
  {
    name: 'pkvm-force-before-type-check',
    ref: 'kvm_init_ipa_range order (v6.2+)',
    bug: 'the pKVM forcing returns before `type & ~KVM_VM_TYPE_ARM_IPA_SIZE_MASK` is checked: protected mode accepts type bits above [7:0]',
    upstream: 'kvm_init_ipa_range order since 60dfe093ec13 (v6.2): the mask check comes first, the pKVM forcing after it',
    source: 'docs/kernel/ipa-vmcreate-memslot.md §0.2 (1, 2)',
    knobs: { typeMaskCheck: 'after-pkvm-force' },
  },
  {
    name: 'user-mem-slots-512',
    ref: 'before 4fc096a99e01 (v5.12)',
    bug: 'KVM_USER_MEM_SLOTS is 512: slot ids 512..32766 get EINVAL',
    upstream: 'before 4fc096a99e01 (v5.12) KVM: Raise the maximum number of user memslots (KVM_USER_MEM_SLOTS = SHRT_MAX)',
    source: 'docs/kernel/ipa-vmcreate-memslot.md §0.5 (1)',
    knobs: { userMemSlots: 512 },
  },
  {
    name: 'readonly-toggle-accepted',
    ref: '__kvm_set_memory_region modify rules',
    bug: 'a modify that sets or clears KVM_MEM_READONLY is taken as a flags-only change instead of EINVAL',
    upstream: '__kvm_set_memory_region: `(new->flags ^ old->flags) & KVM_MEM_READONLY` → EINVAL (every version)',
    source: 'docs/kernel/ipa-vmcreate-memslot.md §0.5 (11)',
    knobs: { readonlyToggle: 'flags-only' },
  },
  {
    name: 'delete-missing-slot-accepted',
    ref: '__kvm_set_memory_region delete rule',
    bug: 'deleting (size 0) a slot that does not exist returns 0 instead of EINVAL',
    upstream: '__kvm_set_memory_region: delete with `!old || !old->npages` → EINVAL (every version)',
    source: 'docs/kernel/ipa-vmcreate-memslot.md §0.5 (10)',
    knobs: { deleteMissingSlot: 'ok' },
  },
  {
    name: 'abort-ec-from-target-el',
    ref: 'inject_abt64 EC choice',
    bug: 'inject_abt64 picks the EC from the EL the abort is injected to: an EL0 access gets IABT_CUR/DABT_CUR, as if taken from EL1',
    upstream: 'inject_abt64: `(*vcpu_cpsr(vcpu) & PSR_MODE_MASK) == PSR_MODE_EL0t` → *_LOW (every version)',
    source: 'seed 004; docs/kernel/abort-injection.md R2.2',
    knobs: { injectEcFrom: 'target-el' },
  },
  {
    name: 'far-without-page-offset',
    ref: '85ea6b1ec915 FAR with VA[11:0]',
    bug: 'the external abort for 2^N <= ipa < 2^L carries the page-aligned HPFAR IPA: FAR_EL1 loses bits [11:0]',
    upstream: '85ea6b1ec915: `fault_ipa |= kvm_vcpu_get_hfar(vcpu) & GENMASK(11, 0)`',
    source: 'seed 004; docs/kernel/abort-injection.md R1.3, §1.3',
    knobs: { outOfRangeFarOffset: 'none' },
  },
  {
    name: 'size-fault-vs-vm-parange',
    ref: '85ea6b1ec915 size-fault bound',
    bug: "the address size fault is checked against the VM's PARange (no 48-bit cap) instead of get_kvm_ipa_limit(): on a 52-bit host with a 48-bit limit, [2^48, 2^52) gets an external abort",
    upstream: '85ea6b1ec915: "Beyond sanitised PARange (which is the IPA limit)": fault_ipa >= BIT_ULL(get_kvm_ipa_limit())',
    source: 'seed 004; docs/kernel/abort-injection.md R1.4, §4',
    knobs: { sizeFaultBound: 'vm-parange' },
  },
  {
    name: 'nvhe-linear-region-52-bit',
    ref: 'before 88053ec8cb1b (~v5.15)',
    bug: 'on 52-bit VA hardware in nVHE mode the linear region is not capped at 2^51: memory above it cannot be mapped at EL2',
    upstream: 'before 88053ec8cb1b (~v5.15) arm64: mm: limit linear region to 51 bits for KVM in nVHE mode',
    source: 'seed 001; shared/KERNEL-HISTORY.md "52-bit VA and the nVHE layout"',
    knobs: { linearCap51: 'never' },
  },
  {
    name: 'nvhe-hyp-va-bits-idmap',
    ref: 'before 579d7ebe90a3 (v6.2)',
    bug: 'hyp_va_bits comes from the ID map alone: with a 48-bit ID map on a 52-bit VA kernel, EL2 is laid out in 48 bits',
    upstream: 'before 579d7ebe90a3 (v6.2) hyp_va_bits = max(idmap_bits, vabits_actual)',
    source: 'seed 001; shared/KERNEL-HISTORY.md "52-bit VA and the nVHE layout"',
    knobs: { hypVaBits: 'idmap-t0sz' },
  },
  {
    name: 'mte-vm-shared-refused',
    ref: 'before d89585fbb308, c911f0d46879 (v6.2)',
    bug: 'an MTE VM refuses VM_SHARED mappings (EINVAL at memslot creation, EFAULT at fault time) instead of those without VM_MTE_ALLOWED',
    upstream: 'before d89585fbb308 and c911f0d46879 (v6.2) KVM: arm64: permit all VM_MTE_ALLOWED mappings',
    source: 'seed 003; shared/KERNEL-HISTORY.md "MTE"',
    knobs: { mteVmaCheck: 'vm-shared' },
  },
  {
    name: 'mte-hugetlbfs-not-allowed',
    ref: 'before 25c17c4b55de (v6.13)',
    bug: 'hugetlbfs_file_mmap does not set VM_MTE_ALLOWED: an MTE VM cannot use hugetlbfs memory',
    upstream: 'before 25c17c4b55de (v6.13) hugetlb: arm64: add mte support',
    source: 'seed 003; oracles/profiles.ts timeline (mteHugetlb)',
    knobs: { hugetlbfsMteAllowed: false },
  },
];

/** None at the moment: the layout and MTE mutants moved to MUTANTS when their families landed. */
export const PENDING_MUTANTS: readonly PendingMutant[] = [];

export function mutantNames(): string[] {
  return MUTANTS.map((m) => m.name);
}

export function getMutant(name: string): Mutant | undefined {
  return MUTANTS.find((m) => m.name === name);
}
