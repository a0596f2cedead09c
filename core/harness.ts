/**
 * The harness address map: where the guest code, the DONE and REPORT addresses and the a32-lpae
 * translation tables live in every VM the helper runs, written once. The helper's C files and its
 * guest code (adapters/kvm/helper/guest.S) read it from adapters/kvm/helper/harness.h, which
 * scripts/gen-harness-h.ts generates from HARNESS_DEFINES below (a test fails when the committed
 * header differs); the simulator and the oracles import the constants directly.
 */

/** IPA of the code memslot: the guest code (vectors at +0, access stubs, AArch32 part) is copied here. */
export const HARNESS_CODE_IPA = 0x0n;
/** Size of the code memslot (read-only to the guest). */
export const HARNESS_CODE_SIZE = 0x10000n;
/** Unbacked: a store here is the KVM_EXIT_MMIO that means "the access completed". */
export const HARNESS_DONE_IPA = 0x10000n;
/** Unbacked: the vector entries store the vector offset, ESR/FSR and FAR at +0, +8, +16. */
export const HARNESS_REPORT_IPA = 0x10100n;
/** The harness owns IPA [0, HARNESS_END): cases stay above it. */
export const HARNESS_END = 0x20000n;
/** a32-lpae: the level-1 table (4 entries of 1 GiB, TTBCR.T0SZ = 0), in the code slot after the code. */
export const HARNESS_PT_L1_IPA = 0x8000n;
/** a32-lpae: the pool of level-2 and level-3 tables, 4 KiB each. */
export const HARNESS_PT_POOL_IPA = 0x9000n;
/** a32-lpae: tables in the pool (the harness and the target need one level-2 and one level-3 table each at most). */
export const HARNESS_PT_POOL_PAGES = 4n;

/**
 * The memslot id the models (simulator, abort oracle) give the code slot. The real helper takes
 * the highest slot id the client does not use, found at run time, so it is not in harness.h.
 */
export const HARNESS_SLOT = 500;

export interface HarnessDefine {
  /** the C / assembler name */
  readonly name: string;
  readonly value: bigint;
  /** one line for the header */
  readonly doc: string;
}

/** What harness.h defines, in order. */
export const HARNESS_DEFINES: readonly HarnessDefine[] = [
  { name: 'HARNESS_CODE_IPA', value: HARNESS_CODE_IPA, doc: 'code memslot (vectors, access stubs, AArch32 part), read-only' },
  { name: 'HARNESS_CODE_SIZE', value: HARNESS_CODE_SIZE, doc: 'size of the code memslot' },
  { name: 'HARNESS_PT_L1_IPA', value: HARNESS_PT_L1_IPA, doc: 'a32-lpae level-1 table, inside the code slot after the code' },
  { name: 'HARNESS_PT_POOL_IPA', value: HARNESS_PT_POOL_IPA, doc: 'a32-lpae level-2 and level-3 tables, 4 KiB each' },
  { name: 'HARNESS_PT_POOL_PAGES', value: HARNESS_PT_POOL_PAGES, doc: 'tables in that pool' },
  { name: 'HARNESS_DONE_IPA', value: HARNESS_DONE_IPA, doc: 'unbacked: a store here means "the access completed"' },
  { name: 'HARNESS_REPORT_IPA', value: HARNESS_REPORT_IPA, doc: 'unbacked: vector offset, ESR/FSR, FAR stored at +0, +8, +16' },
  { name: 'HARNESS_END', value: HARNESS_END, doc: 'the harness owns IPA [0, HARNESS_END)' },
];
