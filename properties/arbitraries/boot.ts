// A boot: banks (listed in any order), then the kernel placed as EFI does, top-down (the highest bank first,
// near its top), the hyp ID map page inside the image, the private EL2 VA KVM asks for,
// and the random long behind the hyp VA tag.

import fc from 'fast-check';
import type { BootConfig } from '../../core/target.ts';
import { banksArb } from './banks.ts';

const UNIT = 1n << 21n;
const IDMAP_ALIGN = 1n << 16n; // a page in every granule

export const bootArb: fc.Arbitrary<BootConfig> = fc
  .record({
    banks: banksArb,
    fromTop: fc.nat(5), // 0: the highest bank, as a top-down allocator picks
    slack: fc.nat(64), // 2 MiB units left free above the image
    kernelUnits: fc.integer({ min: 1, max: 32 }),
    idmapPermille: fc.nat(1000),
    privatePages: fc.integer({ min: 1, max: 256 }),
    tag: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    order: fc.nat(11), // firmware lists banks in any order: rotated, then maybe reversed
  })
  .map(({ banks, fromTop, slack, kernelUnits, idmapPermille, privatePages, tag, order }) => {
    const bank = banks[Math.max(0, banks.length - 1 - fromTop)] ?? { base: 0x4000_0000n, size: UNIT };
    const ksize = BigInt(kernelUnits) * UNIT < bank.size ? BigInt(kernelUnits) * UNIT : bank.size;
    const top = bank.base + bank.size - ksize - BigInt(slack) * UNIT;
    const kbase = top > bank.base ? top : bank.base;
    const room = ksize - 2n * IDMAP_ALIGN;
    const idmapOffset = ((room * BigInt(idmapPermille)) / 1000n / IDMAP_ALIGN) * IDMAP_ALIGN;
    const k = (order >> 1) % banks.length;
    const listed = [...banks.slice(k), ...banks.slice(0, k)];
    return {
      banks: order & 1 ? listed.reverse() : listed,
      kernel: { base: kbase, size: ksize },
      idmapOffset,
      privateBytes: BigInt(privatePages) * 0x1000n,
      tag,
    };
  });
