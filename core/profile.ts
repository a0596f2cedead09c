// The rules a profile selects, and a profile itself: types only, so core/ can name them without
// importing oracles/ (the profiles themselves are data in oracles/profiles.ts).

export interface Rules {
  /** KVM_CAP_ARM_VM_IPA_SIZE from the host (oracles/ipaLimit.ts). */
  readonly ipaLimit: 'clamp-v4.20' | 'unclamped' | 'cap48-4k16k' | 'lpa2';
  /** KVM_CREATE_VM type 0 when the limit is below 40 bits (oracles/vmCreate.ts). */
  readonly defaultIpa: 'accept-misprogrammed' | 'cap-to-limit' | 'reject';
  /** Protected mode forces phys_shift to the limit. */
  readonly protectedForcesLimit: boolean;
  /** arm64 memslot bound against 2^IPA (oracles/memslot.ts). */
  readonly memslotBound: 'inclusive-bug' | 'exclusive';
  /** Number of user memslot ids per address space. */
  readonly memslotIds: number;
  /** Translation faults beyond the VM's IPA range (oracles/abort.ts). */
  readonly outOfRange: 'mmio' | 'asf-beyond-ipa' | 'split' | 'split-wrong-class';
  /** 52-bit VA linear region (oracles/layout.ts): 2^51 ('half'), or 2^52 - 2^47 after f4693c2716b3. */
  readonly linear52: 'half' | 'extended';
  /** ID map VA bits on 52-bit builds: VA_BITS, or 48 unless the image needs more (7ba8f2b2d652). */
  readonly idmapBits: 'va-bits' | 'min48';
  /** nVHE/protected on 52-bit VA caps the linear region at 2^51 (88053ec8cb1b). */
  readonly linearCap51: boolean;
  /** EL2 VA bits: the ID map's, or max(ID map, vabits_actual) (579d7ebe90a3). */
  readonly hypVaBits: 'idmap' | 'max-idmap-va';
  /** nVHE EL2 layout on 52-bit VA: mask + tag (kvm_compute_layout), or seed 001 lists.cs.columbia.edu/mailman/listinfo/kvmarm, v1's low 2^48 window. */
  readonly hypLayout52: 'tagged' | 'low-window-48';
  /** KVM_CAP_ARM_MTE exists (oracles/mte.ts). */
  readonly mteCap: boolean;
  /** Which VMAs an MTE VM refuses, at memslot creation and at fault time (oracles/mte.ts). */
  readonly mteVma: 'refuse-shared' | 'refuse-not-mte-allowed';
  /** hugetlbfs mappings carry VM_MTE_ALLOWED (oracles/mte.ts). */
  readonly mteHugetlb: boolean;
  /** Seed 003: a slot without VM_MTE_ALLOWED is mapped NoTagAccess when the host has FEAT_MTE_PERM. */
  readonly mteNoTagAccess: boolean;
}

export interface Profile extends Rules {
  readonly name: string;
  /** [major, minor] for version profiles; absent for proposals. */
  readonly version?: readonly [number, number];
  /** One line: where the profile comes from. */
  readonly source: string;
}
