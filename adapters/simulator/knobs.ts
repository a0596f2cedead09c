// Policies of the simulated kernel. The defaults are what mainline does; every
// other value is a behaviour some kernel (or proposal) had, so that it can be
// simulated, and so that named mutants (mutants.ts) can select it. Mechanism,
// not rules: each knob switches one step inside the simulated kernel code.

export interface SimKnobs {
  /** kvm_set_ipa_limit: which clamps run */
  readonly ipaLimitClamp: 'stage1-levels' | 'none' | 'cap48' | 'cap48-unless-lpa2';
  /**
   * kvm_set_ipa_limit: how ID_AA64MMFR0_EL1.PARange is read. 'unsigned-field':
   * cpuid_feature_extract_unsigned_field(), so reserved values (7..15) reach the
   * default case of id_aa64mmfr0_parange_to_phys_shift() (CONFIG_ARM64_PA_BITS);
   * 'and-7': `parange & 7`, as v4.20 did, so 8..14 alias 32..52 bits.
   */
  readonly parangeRead: 'unsigned-field' | 'and-7';
  /** kvm_init_ipa_range: type 0 on a host whose limit is below 40 bits */
  readonly defaultIpaBelowLimit: 'accept' | 'cap' | 'reject';
  /** kvm_init_ipa_range: is_protected_kvm_enabled() forces phys_shift = limit */
  readonly protectedForcesLimit: boolean;
  /**
   * kvm_init_ipa_range: where the `type & ~KVM_VM_TYPE_ARM_IPA_SIZE_MASK` check
   * sits: 'first' (every version) or after the pKVM forcing, which then returns early.
   */
  readonly typeMaskCheck: 'first' | 'after-pkvm-force';
  /** kvm_arch_prepare_memory_region: compare with > (fixed) or >= (off by one) */
  readonly memslotBoundCompare: 'gt' | 'ge';
  /**
   * __kvm_set_memory_region: kvm_check_memslot_overlap() before the arch hook
   * (EEXIST beats EFAULT) or after it.
   */
  readonly overlapCheck: 'before-arch-prepare' | 'after-arch-prepare';
  /** __kvm_set_memory_region: a modify that toggles KVM_MEM_READONLY is EINVAL, or is taken as flags-only */
  readonly readonlyToggle: 'einval' | 'flags-only';
  /** __kvm_set_memory_region: delete (size 0) of a slot that does not exist is EINVAL, or returns 0 */
  readonly deleteMissingSlot: 'einval' | 'ok';
  /** KVM_USER_MEM_SLOTS */
  readonly userMemSlots: number;
  /** kvm_handle_guest_abort: what happens to translation faults beyond the VM's IPA range */
  readonly outOfRangeCheck: 'none' | 'asf-beyond-ipa' | 'split' | 'split-wrong-class';
  /**
   * kvm_handle_guest_abort: the bound of the address size fault: get_kvm_ipa_limit()
   * (the sanitised PARange *with* the 48-bit cap), or the PA size of the VM's own
   * ID_AA64MMFR0_EL1.PARange (without it).
   */
  readonly sizeFaultBound: 'ipa-limit' | 'vm-parange';
  /** kvm_handle_guest_abort: `fault_ipa |= kvm_vcpu_get_hfar(vcpu) & GENMASK(11, 0)` before the external abort, or not */
  readonly outOfRangeFarOffset: 'hfar-low-bits' | 'none';
  /**
   * inject_abt64: the EC's "lower EL" choice: from the PSTATE mode (EL0t or
   * AArch32 → *_LOW) or from the exception level the abort is injected to
   * (always *_CUR: an EL0 abort reported as taken from EL1).
   */
  readonly injectEcFrom: 'pstate-mode' | 'target-el';
  /** arm64_memblock_init: the 52-bit linear region is 2^51 ('half', before f4693c2716b3) or 2^52 - 2^47 */
  readonly linearRegion52: 'half' | 'extended';
  /** arm64_memblock_init: cap the linear region at 2^51 for nVHE on LVA hardware (88053ec8cb1b), or never */
  readonly linearCap51: 'nvhe-on-lva' | 'never';
  /** head.S: the ID map's default T0SZ: VA_BITS, or VA_BITS_MIN (7ba8f2b2d652); extended for a high image either way */
  readonly idmapT0sz: 'va-bits' | 'va-bits-min';
  /** kvm_mmu_init: hyp_va_bits = the ID map's bits, or max(them, vabits_actual) (579d7ebe90a3) */
  readonly hypVaBits: 'idmap-t0sz' | 'max-idmap-vabits';
  /** kern_hyp_va on 52-bit VA: mask + tag (kvm_compute_layout), or seed 001 v1's low 2^48 window */
  readonly hypLayout: 'mask-tag' | 'low-window-48';
  /** kvm_vm_ioctl_enable_cap: KVM_CAP_ARM_MTE exists (5.14, ea7fc1bb1cd1), or falls to the default case (EINVAL) */
  readonly mteCap: boolean;
  /** kvm_vm_ioctl_enable_cap(KVM_CAP_ARM_MTE): refused once a vCPU exists, or accepted whenever */
  readonly mteCapAfterVcpu: 'einval' | 'accept';
  /** kvm_arch_prepare_memory_region and user_mem_abort: which VMAs an MTE VM refuses (6.1: VM_SHARED; 6.2: !VM_MTE_ALLOWED) */
  readonly mteVmaCheck: 'vm-shared' | 'not-mte-allowed';
  /** user_mem_abort: the MTE test skips non-cacheable (Device) mappings, or runs on every fault */
  readonly mteFaultSkipsDevice: boolean;
  /** hugetlbfs_file_mmap: sets VM_MTE_ALLOWED (6.13, 25c17c4b55de) or not */
  readonly hugetlbfsMteAllowed: boolean;
  /** seed 003: with FEAT_MTE_PERM, a refused VMA is taken and mapped with the NoTagAccess memory attribute */
  readonly mteNoTagAccess: 'off' | 'memattr';
}

export const MAINLINE_KNOBS: SimKnobs = {
  ipaLimitClamp: 'cap48-unless-lpa2',
  parangeRead: 'unsigned-field',
  defaultIpaBelowLimit: 'reject',
  protectedForcesLimit: true,
  typeMaskCheck: 'first',
  memslotBoundCompare: 'gt',
  overlapCheck: 'before-arch-prepare',
  readonlyToggle: 'einval',
  deleteMissingSlot: 'einval',
  userMemSlots: 32767,
  outOfRangeCheck: 'split',
  sizeFaultBound: 'ipa-limit',
  outOfRangeFarOffset: 'hfar-low-bits',
  injectEcFrom: 'pstate-mode',
  linearRegion52: 'extended',
  linearCap51: 'nvhe-on-lva',
  idmapT0sz: 'va-bits-min',
  hypVaBits: 'max-idmap-vabits',
  hypLayout: 'mask-tag',
  mteCap: true,
  mteCapAfterVcpu: 'einval',
  mteVmaCheck: 'not-mte-allowed',
  mteFaultSkipsDevice: true,
  hugetlbfsMteAllowed: true,
  mteNoTagAccess: 'off',
};
