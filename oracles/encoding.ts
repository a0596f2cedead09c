// The KVM_CREATE_VM IPA-size encodings argued in a seed thread, as data: the one that landed
// and the alternatives, each an encode/decode pair. The thread:
// seed 002 "[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM" lists.openwall.net (linux-kernel)

import { PARANGE_BITS } from '../arch/host.ts';
import { KVM_PHYS_SHIFT, KVM_VM_TYPE_ARM_IPA_SIZE_MASK } from '../arch/kvm.ts';

/** What a VMM asks for: a size in bits, or the default (type 0). */
export type Request = { readonly bits: number } | 'default';

export interface Design {
  readonly name: string;
  /** one line: where it comes from */
  readonly source: string;
  /** the argument word (or structure, flattened to bigint fields) for a request; undefined if inexpressible */
  encode(r: Request): bigint | undefined;
  /** the IPA size the kernel would use for a word; undefined if the word is invalid */
  decode(word: bigint): number | undefined;
}

const DEFAULT_BITS = KVM_PHYS_SHIFT;

// seed 002 "[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM" lists.openwall.net (linux-kernel); 233a7cb23531: Log2(PA size) in bits [7:0], 0 means 40 bits
export const landed: Design = {
  name: 'landed',
  source: 'seed 002; 233a7cb23531: KVM_VM_TYPE_ARM_IPA_SIZE(bits) in [7:0], 0 = 40',
  encode: (r) => (r === 'default' ? 0n : r.bits > 0 && r.bits <= 0xff ? BigInt(r.bits) : undefined),
  decode: (w) => ((w & ~KVM_VM_TYPE_ARM_IPA_SIZE_MASK) !== 0n ? undefined : w === 0n ? DEFAULT_BITS : Number(w)),
};

// seed 002 "[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM" lists.openwall.net (linux-kernel) (Suzuki): VTCR_EL2.PS format in [2:0], bit [3] says "size requested"
export const ps3Flag: Design = {
  name: 'ps3-flag',
  source: 'seed 002, Suzuki K Poulose: bits [2:0] in PS format plus a "requested" flag in bit [3]',
  encode: (r) => {
    if (r === 'default') return 0n;
    const ps = PARANGE_BITS.indexOf(r.bits);
    return ps < 0 ? undefined : 8n | BigInt(ps);
  },
  decode: (w) => {
    if ((w & ~0xfn) !== 0n) return undefined;
    if ((w & 8n) === 0n) return w === 0n ? DEFAULT_BITS : undefined;
    return PARANGE_BITS[Number(w & 7n)];
  },
};

// seed 002 "[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM" lists.openwall.net (linux-kernel) (Suzuki): IPA = 40 + 2 * sign_extend(bits[3:0])
export const halfDiff: Design = {
  name: 'half-diff',
  source: 'seed 002, Suzuki K Poulose: IPA = 40 + 2 * sign_extend(bits[3:0])',
  encode: (r) => {
    const bits = r === 'default' ? DEFAULT_BITS : r.bits;
    const d = bits - DEFAULT_BITS;
    if (d % 2 !== 0 || d / 2 < -8 || d / 2 > 7) return undefined;
    return BigInt(d / 2) & 0xfn;
  },
  decode: (w) => {
    if ((w & ~0xfn) !== 0n) return undefined;
    const v = Number(w);
    return DEFAULT_BITS + 2 * (v >= 8 ? v - 16 : v);
  },
};

// seed 002 "[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM" lists.openwall.net (linux-kernel) (Marc Zyngier, Dave Martin): KVM_CREATE_VM2 with a structured argument;
// flattened here as capabilities (bit 1 = KVM_ARM_SELECT_IPA) << 8 | ipa_size (__u8)
export const createVm2: Design = {
  name: 'create-vm2',
  source: 'seed 002, Marc Zyngier / Dave Martin: struct kvm_create_vm2 { capabilities; ipa_size (u8) }',
  encode: (r) => (r === 'default' ? 0n : r.bits > 0 && r.bits <= 0xff ? (2n << 8n) | BigInt(r.bits) : undefined),
  decode: (w) => {
    const caps = w >> 8n;
    if ((caps & ~2n) !== 0n) return undefined;
    if ((caps & 2n) === 0n) return (w & KVM_VM_TYPE_ARM_IPA_SIZE_MASK) === 0n ? DEFAULT_BITS : undefined;
    const bits = Number(w & KVM_VM_TYPE_ARM_IPA_SIZE_MASK);
    return bits === 0 ? undefined : bits;
  },
};

export const DESIGNS: readonly Design[] = [landed, ps3Flag, halfDiff, createVm2];
