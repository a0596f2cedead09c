// vm-create: the host's IPA limit and what KVM_CREATE_VM does with a type word.

import fc from 'fast-check';
import { observeIpaLimit, observeVmCreate } from './observe/vmCreate.ts';
import { conformance } from '../core/property.ts';
import { ipaLimit } from '../oracles/ipaLimit.ts';
import { vmCreate } from '../oracles/vmCreate.ts';
import { hostArb } from './arbitraries/host.ts';
import { typeWord, typeWordNear } from './arbitraries/typeWord.ts';

export const ipaLimitProperty = conformance('ipa-limit', {
  family: 'vm-create',
  name: 'ipa-limit',
  description: 'KVM_CAP_ARM_VM_IPA_SIZE is the limit the profile computes from PARange, granule, LPA2 and the kernel PA/VA bits',
  arbitrary: (g) => fc.record({ host: hostArb(g) }),
  expect: (c, o) => ({ ipaLimit: ipaLimit(c.host, o.profile) }),
  observe: observeIpaLimit,
  hostOf: (c) => c.host,
});

export const vmCreateProperty = conformance('vm-create', {
  family: 'vm-create',
  name: 'type-word',
  description: 'KVM_CREATE_VM(type): EINVAL, or a VM whose IPA size (seen through memslots) and first access are what the profile says',
  // a fixed host's reported limit is an observation, not a rule: the generator may aim at it
  arbitrary: (g) =>
    fc.record({
      host: hostArb(g),
      type: g.info.host !== 'any' && g.info.ipaLimit !== undefined ? typeWordNear(g.info.ipaLimit) : typeWord,
    }),
  expect: (c, o) => vmCreate(c, o.profile),
  observe: observeVmCreate,
  hostOf: (c) => c.host,
});

export const vmCreateProperties = [ipaLimitProperty, vmCreateProperty];
