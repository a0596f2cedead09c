// KVM uapi numbers used by the suite (include/uapi/linux/kvm.h).

export const KVM_CAP_ARM_VM_IPA_SIZE = 165;
export const KVM_CAP_ARM_NISV_TO_USER = 177;
export const KVM_CAP_ARM_MTE = 205;
export const KVM_CAP_ARM_EL1_32BIT = 93;
export const KVM_CAP_NR_MEMSLOTS = 10;

/** KVM_VM_TYPE_ARM_IPA_SIZE_MASK: bits [7:0] of the KVM_CREATE_VM type word. */
export const KVM_VM_TYPE_ARM_IPA_SIZE_MASK = 0xffn;

/** KVM_PHYS_SHIFT (asm/kvm_mmu.h): the IPA size a type word of 0 asks for (api.rst: "defaults to 40bits"). */
export const KVM_PHYS_SHIFT = 40;

export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
export const KVM_MEM_READONLY = 1 << 1;

/** KVM_MEM_MAX_NR_PAGES (include/linux/kvm_host.h): the most pages one memslot may have. */
export const KVM_MEM_MAX_NR_PAGES = (1n << 31n) - 1n;

export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_ARM_NISV = 28;
