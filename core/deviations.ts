// Known deviations: places where a real kernel is known to differ from the
// oracle, each with its upstream reference. A case whose difference is
// exactly what an entry describes is counted as known, not as a failure;
// anything else still fails the property.

import { readFileSync } from 'node:fs';
import type { FieldDiff } from './compare.ts';
import { toJson, type Json } from './json.ts';
import type { TargetInfo } from './target.ts';

export interface KnownDeviation {
  readonly id: string;
  /** whose deviation it is: the kernel's (default) or the emulated CPU's */
  readonly kind: 'kernel' | 'emulator';
  /** family/name, '*' matches any run of characters */
  readonly property: string;
  /** regular expressions over the target's reported fields (kernelRelease, kernelVersion, cpu, mode, kind, spec, emulator.version, host.granule) */
  readonly target: Readonly<Record<string, string>>;
  /** dotted paths into the case (e.g. "access.kind") and the JSON value they must have */
  readonly case: Readonly<Record<string, Json>>;
  /** the outcome fields that differ (dotted diff paths; "outcome.*" is any field under outcome); the deviation explains exactly these */
  readonly fields: readonly string[];
  /** what the target must have observed at these diff paths (e.g. {"outcome.kind": "hang"}) */
  readonly actual?: Readonly<Record<string, Json>>;
  /** for 64-bit fields: actual XOR expected must be exactly this (e.g. a sign-extended upper half) */
  readonly xor?: Readonly<Record<string, bigint>>;
  readonly reference: string;
  readonly note: string;
}

export class FixtureError extends Error {
  override readonly name = 'FixtureError';
}

const TARGET_FIELDS = ['kernelRelease', 'kernelVersion', 'cpu', 'mode', 'kind', 'spec', 'emulator.version', 'host.granule'];

export function parseDeviations(text: string, file: string): KnownDeviation[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FixtureError(`${file}: not JSON: ${(e as Error).message}`);
  }
  const list = (doc as { deviations?: unknown }).deviations;
  if (!Array.isArray(list)) throw new FixtureError(`${file}: field 'deviations' must be an array`);
  return list.map((d: unknown, i: number) => {
    const at = `${file}: deviations[${i}]`;
    if (typeof d !== 'object' || d === null) throw new FixtureError(`${at}: must be an object`);
    const o = d as Record<string, unknown>;
    const str = (k: string): string => {
      if (typeof o[k] !== 'string' || (o[k] as string).length === 0)
        throw new FixtureError(`${at}: field '${k}' must be a non-empty string`);
      return o[k] as string;
    };
    const target = o['target'] ?? {};
    if (typeof target !== 'object' || target === null || Array.isArray(target))
      throw new FixtureError(`${at}: field 'target' must be an object`);
    for (const [k, v] of Object.entries(target)) {
      if (!TARGET_FIELDS.includes(k)) throw new FixtureError(`${at}: field 'target.${k}' is not one of ${TARGET_FIELDS.join(', ')}`);
      if (typeof v !== 'string') throw new FixtureError(`${at}: field 'target.${k}' must be a regular expression string`);
      try {
        new RegExp(v);
      } catch {
        throw new FixtureError(`${at}: field 'target.${k}' is not a valid regular expression`);
      }
    }
    const kase = o['case'] ?? {};
    if (typeof kase !== 'object' || kase === null || Array.isArray(kase)) throw new FixtureError(`${at}: field 'case' must be an object`);
    const fields = o['fields'];
    if (!Array.isArray(fields) || fields.length === 0 || !fields.every((f) => typeof f === 'string')) {
      throw new FixtureError(`${at}: field 'fields' must be a non-empty array of diff paths`);
    }
    const xorIn = o['xor'] ?? {};
    if (typeof xorIn !== 'object' || xorIn === null || Array.isArray(xorIn)) throw new FixtureError(`${at}: field 'xor' must be an object`);
    const xor: Record<string, bigint> = {};
    for (const [k, v] of Object.entries(xorIn)) {
      if (typeof v !== 'string' || !/^0x[0-9a-f]+$/i.test(v)) throw new FixtureError(`${at}: field 'xor.${k}' must be a "0x…" hex string`);
      if (!(fields as string[]).includes(k)) throw new FixtureError(`${at}: field 'xor.${k}' names a path not in 'fields'`);
      xor[k] = BigInt(v);
    }
    const kind = o['kind'] ?? 'kernel';
    if (kind !== 'kernel' && kind !== 'emulator') throw new FixtureError(`${at}: field 'kind' must be "kernel" or "emulator"`);
    const actual = o['actual'] ?? {};
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual))
      throw new FixtureError(`${at}: field 'actual' must be an object`);
    return {
      id: str('id'),
      kind,
      actual: actual as Record<string, Json>,
      xor,
      property: str('property'),
      target: target as Record<string, string>,
      case: kase as Record<string, Json>,
      fields: fields as string[],
      reference: str('reference'),
      note: str('note'),
    };
  });
}

export function loadDeviations(file: string): KnownDeviation[] {
  return parseDeviations(readFileSync(file, 'utf8'), file);
}

function glob(pattern: string, s: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(s);
}

function at(v: Json, path: string): Json | undefined {
  let cur: Json | undefined = v;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, Json>)[k];
  }
  return cur;
}

/** The entries that apply to a property on a target. */
export function deviationsFor(all: readonly KnownDeviation[], propertyId: string, info: TargetInfo): KnownDeviation[] {
  const fields = toJson(info);
  return all.filter(
    (d) =>
      glob(d.property, propertyId) &&
      Object.entries(d.target).every(([k, re]) => {
        const v = at(fields, k);
        return (typeof v === 'string' || typeof v === 'number') && new RegExp(re).test(String(v));
      }),
  );
}

/** A diff path against a deviation's field: exact, or "prefix.*" for any field under prefix. */
function covers(field: string, path: string): boolean {
  return field.endsWith('.*') ? path.startsWith(field.slice(0, -1)) : field === path;
}

/** The entry that explains this difference, if any. */
export function explain(ds: readonly KnownDeviation[], kase: Json, diff: readonly FieldDiff[]): KnownDeviation | undefined {
  return ds.find(
    (d) =>
      Object.entries(d.case).every(([p, v]) => JSON.stringify(at(kase, p)) === JSON.stringify(v)) &&
      // every differing path is one the entry names, and every exact path it names differs
      diff.every((e) => d.fields.some((f) => covers(f, e.path))) &&
      d.fields.every((f) => f.endsWith('.*') || diff.some((e) => e.path === f)) &&
      Object.entries(d.actual ?? {}).every(([p, v]) => JSON.stringify(diff.find((e) => e.path === p)?.actual) === JSON.stringify(v)) &&
      Object.entries(d.xor ?? {}).every(([p, x]) => {
        const f = diff.find((e) => e.path === p);
        return typeof f?.expected === 'string' && typeof f.actual === 'string' && (BigInt(f.expected) ^ BigInt(f.actual)) === x;
      }),
  );
}
