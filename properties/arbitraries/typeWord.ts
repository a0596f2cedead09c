// A KVM_CREATE_VM type word, biased to the boundaries: 0, 31, 32, every
// possible limit and limit+1, 255, and bits above [7:0].

import fc from 'fast-check';

const BOUNDARIES = [31, 32, 33, 35, 36, 37, 39, 40, 41, 42, 43, 44, 45, 47, 48, 49, 51, 52, 53, 64, 255];

/**
 * On a fixed host whose IPA limit the target reported (a real kernel), also its own limit - 1, limit and
 * limit + 1, often: an off-by-one at the limit must show within a few dozen cases (a kernel mutant with
 * `phys_shift >= kvm_ipa_limit` survived 30 runs of the plain word on a 52-bit host).
 */
export function typeWordNear(limit: number): fc.Arbitrary<bigint> {
  return fc.oneof({ weight: 3, arbitrary: typeWord }, { weight: 1, arbitrary: fc.constantFrom(limit - 1, limit, limit + 1).map(BigInt) });
}

export const typeWord: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0n) },
  { weight: 6, arbitrary: fc.constantFrom(...BOUNDARIES).map(BigInt) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }).map(BigInt) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 8, max: 63 }), fc.constantFrom(0, 40, 44, 48))
      .map(([bit, low]) => (1n << BigInt(bit)) | BigInt(low)),
  },
);
