// Every property of the suite, by family.

import type { AnyProperty, Family } from '../core/property.ts';
import { abortProperties } from './abort.ts';
import { encodingProperties } from './encoding.ts';
import { layoutProperties } from './layout.ts';
import { memslotProperties } from './memslot.ts';
import { mteProperties } from './mte.ts';
import { vmCreateProperties } from './vmCreate.ts';

export const ALL_PROPERTIES: readonly AnyProperty[] = [
  ...vmCreateProperties,
  ...memslotProperties,
  ...encodingProperties,
  ...abortProperties,
  ...layoutProperties,
  ...mteProperties,
] as readonly AnyProperty[];

export function propertiesOf(families: readonly Family[]): AnyProperty[] {
  return ALL_PROPERTIES.filter((p) => families.includes(p.family));
}
