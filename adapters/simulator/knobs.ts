// Policies of the simulated kernel. The defaults are what mainline does; every
// other value is a behaviour some kernel (or proposal) had, so that it can be
// simulated, and so that named mutants can select it. Mechanism, not rules:
// each knob switches one step inside the simulated kernel code.

export interface SimKnobs {
  /** kvm_set_ipa_limit: which clamps run */
  readonly ipaLimitClamp: 'stage1-levels' | 'none' | 'cap48' | 'cap48-unless-lpa2';
  /** kvm_init_ipa_range: type 0 on a host whose limit is below 40 bits */
  readonly defaultIpaBelowLimit: 'accept' | 'cap' | 'reject';
  /** kvm_init_ipa_range: is_protected_kvm_enabled() forces phys_shift = limit */
  readonly protectedForcesLimit: boolean;
  /** kvm_arch_prepare_memory_region: compare with > (fixed) or >= (off by one) */
  readonly memslotBoundCompare: 'gt' | 'ge';
  /** KVM_USER_MEM_SLOTS */
  readonly userMemSlots: number;
  /** kvm_handle_guest_abort: what happens to translation faults beyond the VM's IPA range */
  readonly outOfRangeCheck: 'none' | 'asf-beyond-ipa' | 'split' | 'split-wrong-class';
}

export const MAINLINE_KNOBS: SimKnobs = {
  ipaLimitClamp: 'cap48-unless-lpa2',
  defaultIpaBelowLimit: 'reject',
  protectedForcesLimit: true,
  memslotBoundCompare: 'gt',
  userMemSlots: 32767,
  outOfRangeCheck: 'split',
};
