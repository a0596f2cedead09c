// The schema language of what is read back from JSON (cases: core/codec.ts; summary.json:
// cli/summaryFile.ts), and the strict decoder: a value is checked field by field, and an error names
// the path of the field at fault. Cases use the closed forms only; a report read back is open (it holds
// more than a reader checks) and has optional fields. A schema is typed
// with what it decodes to (Schema<T>, built by the functions below), so decode() returns that type
// and the case schemas are checked against the case types (core/families.ts).

import type { Json } from './json.ts';

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

type Node =
  | { readonly t: 'u64' }
  | { readonly t: 'bool' }
  | { readonly t: 'null' }
  | { readonly t: 'str' }
  | { readonly t: 'num' }
  | { readonly t: 'any' }
  | { readonly t: 'opt'; readonly of: Schema }
  | { readonly t: 'int'; readonly min: number; readonly max: number }
  | { readonly t: 'enum'; readonly of: readonly (string | number)[] }
  | { readonly t: 'obj'; readonly fields: Readonly<Record<string, Schema>>; readonly open?: true }
  | { readonly t: 'arr'; readonly of: Schema; readonly max: number }
  | { readonly t: 'either'; readonly a: Schema; readonly b: Schema; readonly what: string };

declare const decodesTo: unique symbol;
/** A schema whose values decode to T (a type only: no schema has the property). */
export type Schema<T = unknown> = Node & { readonly [decodesTo]?: T };
/** What a schema decodes to. */
export type Decoded<S> = S extends Schema<infer T> ? T : never;

export const U64: Schema<bigint> = { t: 'u64' };
export const BOOL: Schema<boolean> = { t: 'bool' };
export const NULL: Schema<null> = { t: 'null' };
export const STR: Schema<string> = { t: 'str' };
/** any finite number */
export const NUM: Schema<number> = { t: 'num' };
/** any JSON value */
export const ANY: Schema<Json> = { t: 'any' };
/** a field that may be missing (in an object); checked when present */
export const opt = <T>(of: Schema<T>): Schema<T | undefined> => ({ t: 'opt', of });
export const int = (min: number, max: number): Schema<number> => ({ t: 'int', min, max });
export const oneOf = <const V extends readonly (string | number)[]>(...of: V): Schema<V[number]> => ({ t: 'enum', of });
export const obj = <F extends Readonly<Record<string, Schema>>>(fields: F): Schema<{ readonly [K in keyof F]: Decoded<F[K]> }> => ({
  t: 'obj',
  fields,
});
/** an object that may hold fields it does not name (a report read back), unlike a case's */
export const open = <F extends Readonly<Record<string, Schema>>>(fields: F): Schema<{ readonly [K in keyof F]: Decoded<F[K]> }> => ({
  t: 'obj',
  fields,
  open: true,
});
export const arr = <T>(of: Schema<T>, max: number): Schema<readonly T[]> => ({ t: 'arr', of, max });
export const either = <A, B>(a: Schema<A>, b: Schema<B>, what: string): Schema<A | B> => ({ t: 'either', a, b, what });

/**
 * A value of s's type from JSON, validated. The one cast of the decoder: decodeNode() builds the
 * value node by node as the schema says, and the builders above give each node the type it builds.
 */
export function decode<T>(s: Schema<T>, v: Json | undefined, at: string): T {
  return decodeNode(s, v, at) as T;
}

/** The path of a field (the root is '' for a whole document). */
const field = (at: string, k: string): string => (at ? `${at}.${k}` : k);

function decodeNode(s: Schema, v: Json | undefined, at: string): unknown {
  if (s.t === 'opt') return v === undefined ? undefined : decodeNode(s.of, v, at);
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
    case 'str':
      if (typeof v !== 'string') throw new CaseError(at, 'must be a string');
      return v;
    case 'num':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new CaseError(at, 'must be a number');
      return v;
    case 'any':
      return v;
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
        return decodeNode(s.a, v, at);
      } catch {
        try {
          return decodeNode(s.b, v, at);
        } catch {
          throw new CaseError(at, `must be ${s.what}`);
        }
      }
    case 'arr':
      if (!Array.isArray(v)) throw new CaseError(at, 'must be an array');
      if (v.length > s.max) throw new CaseError(at, `has more than ${s.max} entries`);
      return v.map((x, i) => decodeNode(s.of, x, `${at}[${i}]`));
    case 'obj': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CaseError(at, 'must be an object');
      if (!s.open) for (const k of Object.keys(v)) if (!(k in s.fields)) throw new CaseError(field(at, k), 'is not a field of this case');
      const out: Record<string, unknown> = {};
      for (const [k, sub] of Object.entries(s.fields)) out[k] = decodeNode(sub, v[k], field(at, k));
      return out;
    }
  }
}
