// Cases back from JSON: the inverse of toJson() for every case type, with
// strict validation. A case read from a file (the regression corpus) is
// checked field by field; an error names the path of the field at fault.

import { GRANULES, KVM_MODES } from '../arch/host.ts';
import type { AccessCase, IpaLimitCase, LayoutCase, MemslotCase, MteCase, VmCreateCase } from './cases.ts';
import { BACKING_KINDS } from './cases.ts';
import type { Json } from './json.ts';
import type { GuestState } from './target.ts';

/** Which case type a conformance property generates (and its counterexamples are). */
export type CaseKind = 'ipa-limit' | 'vm-create' | 'memslot' | 'access' | 'layout' | 'mte';
export const CASE_KINDS: readonly CaseKind[] = ['ipa-limit', 'vm-create', 'memslot', 'access', 'layout', 'mte'];

export class CaseError extends Error {
  override readonly name = 'CaseError';
  /** the dotted path of the field at fault, e.g. case.access.ipa */
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(`field '${field}' ${why}`);
  }
}

type Schema =
  | { readonly t: 'u64' }
  | { readonly t: 'bool' }
  | { readonly t: 'null' }
  | { readonly t: 'int'; readonly min: number; readonly max: number }
  | { readonly t: 'enum'; readonly of: readonly (string | number)[] }
  | { readonly t: 'obj'; readonly fields: Readonly<Record<string, Schema>> }
  | { readonly t: 'arr'; readonly of: Schema; readonly max: number }
  | { readonly t: 'either'; readonly a: Schema; readonly b: Schema; readonly what: string };

const U64: Schema = { t: 'u64' };
const BOOL: Schema = { t: 'bool' };
const int = (min: number, max: number): Schema => ({ t: 'int', min, max });
const oneOf = (...of: (string | number)[]): Schema => ({ t: 'enum', of });
const obj = (fields: Record<string, Schema>): Schema => ({ t: 'obj', fields });

const HOST = obj({
  parange: int(0, 15),
  granule: oneOf(...GRANULES),
  lpa2: BOOL,
  kernelPaBits: oneOf(48, 52),
  vaBits: int(36, 52),
  mode: oneOf(...KVM_MODES),
});

const REGION = obj({
  slot: int(0, 0xffff_ffff),
  flags: int(0, 0xffff_ffff),
  guestPhysAddr: U64,
  memorySize: U64,
  userspaceAddr: { t: 'either', a: U64, b: oneOf('auto'), what: `a "0x…" string or "auto"` },
});

const RANGE = obj({ base: U64, size: U64 });
const BOOT = obj({ banks: { t: 'arr', of: RANGE, max: 16 }, kernel: RANGE, idmapOffset: U64, privateBytes: U64, tag: U64 });

const BACKING = obj({ kind: oneOf(...BACKING_KINDS), shared: BOOL });

const STATES: readonly GuestState[] = ['el1h', 'el1t', 'el0', 'a32-lpae', 'a32-short'];

const SCHEMAS: Record<CaseKind, Schema> = {
  'ipa-limit': obj({ host: HOST }),
  'vm-create': obj({ host: HOST, type: U64 }),
  memslot: obj({ host: HOST, vmType: U64, ops: { t: 'arr', of: REGION, max: 64 } }),
  access: obj({
    host: HOST,
    ipaBits: int(1, 64),
    slots: { t: 'arr', of: REGION, max: 16 },
    state: oneOf(...STATES),
    access: obj({
      kind: oneOf('load', 'store', 'ifetch'),
      size: oneOf(1, 2, 4, 8),
      ipa: U64,
      data: U64,
      syndromeValid: BOOL,
    }),
    nisvToUser: BOOL,
  }),
  layout: obj({ host: HOST, boot: { t: 'either', a: BOOT, b: oneOf('own'), what: 'a boot object or "own"' } }),
  mte: obj({
    host: HOST,
    hostMte: BOOL,
    mtePerm: BOOL,
    cap: oneOf('none', 'before-vcpu', 'after-vcpu', 'twice', 'bad-flags'),
    backing: BACKING,
    remap: { t: 'either', a: BACKING, b: { t: 'null' }, what: 'a backing object or null' },
    access: oneOf('load', 'store', 'tag-load'),
  }),
};

function decode(s: Schema, v: Json | undefined, at: string): unknown {
  if (v === undefined) throw new CaseError(at, 'is missing');
  switch (s.t) {
    case 'u64':
      if (typeof v !== 'string' || !/^0x[0-9a-f]{1,16}$/.test(v)) throw new CaseError(at, 'must be a 64-bit "0x…" hex string (lower case)');
      return BigInt(v);
    case 'bool':
      if (typeof v !== 'boolean') throw new CaseError(at, 'must be true or false');
      return v;
    case 'null':
      if (v !== null) throw new CaseError(at, 'must be null');
      return null;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < s.min || v > s.max) {
        throw new CaseError(at, `must be a whole number from ${s.min} to ${s.max}`);
      }
      return v;
    case 'enum':
      if ((typeof v !== 'string' && typeof v !== 'number') || !s.of.includes(v)) {
        throw new CaseError(at, `must be one of ${s.of.map((x) => JSON.stringify(x)).join(', ')}`);
      }
      return v;
    case 'either':
      try {
        return decode(s.a, v, at);
      } catch {
        try {
          return decode(s.b, v, at);
        } catch {
          throw new CaseError(at, `must be ${s.what}`);
        }
      }
    case 'arr':
      if (!Array.isArray(v)) throw new CaseError(at, 'must be an array');
      if (v.length > s.max) throw new CaseError(at, `has more than ${s.max} entries`);
      return v.map((x, i) => decode(s.of, x, `${at}[${i}]`));
    case 'obj': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CaseError(at, 'must be an object');
      for (const k of Object.keys(v)) if (!(k in s.fields)) throw new CaseError(`${at}.${k}`, 'is not a field of this case');
      const out: Record<string, unknown> = {};
      for (const [k, sub] of Object.entries(s.fields)) out[k] = decode(sub, v[k], `${at}.${k}`);
      return out;
    }
  }
}

export function decodeCase(kind: 'ipa-limit', v: Json, at?: string): IpaLimitCase;
export function decodeCase(kind: 'vm-create', v: Json, at?: string): VmCreateCase;
export function decodeCase(kind: 'memslot', v: Json, at?: string): MemslotCase;
export function decodeCase(kind: 'access', v: Json, at?: string): AccessCase;
export function decodeCase(kind: 'layout', v: Json, at?: string): LayoutCase;
export function decodeCase(kind: 'mte', v: Json, at?: string): MteCase;
export function decodeCase(kind: CaseKind, v: Json, at?: string): unknown;
/** A case from its JSON form (toJson), validated; throws CaseError naming the field. */
export function decodeCase(kind: CaseKind, v: Json, at = 'case'): unknown {
  return decode(SCHEMAS[kind], v, at);
}
