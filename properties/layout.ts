// layout (seed 001): the linear region and the nVHE EL2 layout of 48- and 52-bit VA kernels.

import fc from 'fast-check';
import { observeBootLog, observeEl2Mappable, observeLayout } from './observe/layout.ts';
import { conformance } from '../core/property.ts';
import { bootLog, el2Mappable, layout } from '../oracles/layout.ts';
import { bootArb } from './arbitraries/boot.ts';
import { layoutHostArb } from './arbitraries/layoutHost.ts';

const anyBoot = (g: Parameters<typeof layoutHostArb>[0]) => fc.record({ host: layoutHostArb(g), boot: bootArb });

export const layoutBootProperty = conformance('layout', {
  family: 'layout',
  name: 'boot',
  description:
    'memory map, kernel placement, VA bits and mode: the 51-bit cap, the DRAM kept and dropped, and how EL2 init ends (hyp VA bits, the ID map and private VA apart from the hyp linear range, kept DRAM mappable)',
  needs: ['host-any'],
  arbitrary: anyBoot,
  expect: (c, o) => layout(c, o.profile),
  observe: observeLayout,
  hostOf: (c) => c.host,
});

export const el2MappableProperty = conformance('layout', {
  family: 'layout',
  name: 'el2-mappable',
  description:
    'every byte of DRAM the kernel keeps has an alias at EL2 (seed 001: memory in [2^52 - 2^48, 2^52 - 2^47) under the v1 layout has none)',
  needs: ['host-any'],
  arbitrary: anyBoot,
  expect: (c, o) => el2Mappable(c, o.profile),
  observe: observeEl2Mappable,
  hostOf: (c) => c.host,
});

export const bootLogProperty = conformance('layout', {
  family: 'layout',
  name: 'boot-log',
  description:
    'what the boot log shows: the mode KVM initialised in (or that it failed) and the "Capping linear region to 51 bits" decision; a real target answers for its own boot',
  arbitrary: (g) => (g.info.host === 'any' ? anyBoot(g) : fc.record({ host: layoutHostArb(g), boot: fc.constant<'own'>('own') })),
  expect: (c, o) => bootLog(c, o.profile),
  observe: observeBootLog,
  hostOf: (c) => c.host,
});

export const layoutProperties = [layoutBootProperty, el2MappableProperty, bootLogProperty];
