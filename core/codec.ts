// Cases back from JSON: the inverse of toJson() for every case type, with
// strict validation against the case kind's schema (core/families.ts). A case
// read from a file (the regression corpus) is checked field by field; an error
// names the path of the field at fault.

import { CASE_SCHEMAS, type CaseKind, type CaseOf } from './families.ts';
import type { Json } from './json.ts';
import { decode } from './schema.ts';

export { CASE_KINDS, type CaseKind } from './families.ts';
export { CaseError } from './schema.ts';

/** A case from its JSON form (toJson), validated; throws CaseError naming the field. */
export function decodeCase<K extends CaseKind>(kind: K, v: Json, at = 'case'): CaseOf<K> {
  return decode(CASE_SCHEMAS[kind], v, at);
}
