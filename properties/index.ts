// Every property of the suite, by family (the families: core/families.ts).

import { caseKindsOf } from '../core/families.ts';
import { FAMILIES, propertyId, type AnyProperty, type Family } from '../core/property.ts';
import { abortProperties } from './abort.ts';
import { encodingProperties } from './encoding.ts';
import { layoutProperties } from './layout.ts';
import { memslotProperties } from './memslot.ts';
import { mteProperties } from './mte.ts';
import { vmCreateProperties } from './vmCreate.ts';

/** One entry per registered family: a family without one is a compile error. */
const BY_FAMILY: { readonly [F in Family]: readonly AnyProperty[] } = {
  'vm-create': vmCreateProperties,
  memslot: memslotProperties,
  encoding: encodingProperties,
  abort: abortProperties,
  layout: layoutProperties,
  mte: mteProperties,
};

for (const f of FAMILIES)
  for (const p of BY_FAMILY[f]) {
    if (p.family !== f) throw new Error(`${propertyId(p)} is listed under the family '${f}'`);
    if (p.kind === 'conformance' && !caseKindsOf(f).includes(p.caseKind))
      throw new Error(`${propertyId(p)} generates '${p.caseKind}' cases, not a case kind of '${f}' (core/families.ts)`);
  }

/** Every property, in the registry's family order. */
export const ALL_PROPERTIES: readonly AnyProperty[] = FAMILIES.flatMap((f) => BY_FAMILY[f]);

export function propertiesOf(families: readonly Family[]): AnyProperty[] {
  return ALL_PROPERTIES.filter((p) => families.includes(p.family));
}
