// One comparison for every family: expected and actual outcomes are equal
// iff their JSON forms are; a difference is listed field by field, and any
// ESR value is decoded so a reader sees which bits differ.

import { decodeEsr, decodeFsr32, isAArch32Vector } from '../arch/esr.ts';
import { toJson, type Json } from './json.ts';

export interface FieldDiff {
  readonly path: string;
  readonly expected: Json;
  readonly actual: Json;
  /** for ESR fields: the decoded fields that differ */
  readonly decoded?: Record<string, { expected: Json; actual: Json }>;
}

export function sameOutcome(a: unknown, b: unknown): boolean {
  return JSON.stringify(toJson(a)) === JSON.stringify(toJson(b));
}

function isEsrPath(path: string): boolean {
  return /(^|\.)esr$/.test(path) || /(^|\.)esrIss$/.test(path);
}

export function diffOutcomes(expected: unknown, actual: unknown): FieldDiff[] {
  const out: FieldDiff[] = [];
  walk('', toJson(expected), toJson(actual), expected, actual, out, false);
  return out;
}

function walk(path: string, e: Json, a: Json, rawE: unknown, rawA: unknown, out: FieldDiff[], a32: boolean): void {
  if (JSON.stringify(e) === JSON.stringify(a)) return;
  const bothObjects = e !== null && a !== null && typeof e === 'object' && typeof a === 'object' && !Array.isArray(e) && !Array.isArray(a);
  if (bothObjects) {
    const keys = new Set([...Object.keys(e as object), ...Object.keys(a as object)]);
    const vector = (e as Record<string, Json>)['vector'];
    const isA32 = typeof vector === 'number' && isAArch32Vector(vector);
    for (const k of keys) {
      const sub = path ? `${path}.${k}` : k;
      walk(sub, (e as Record<string, Json>)[k] ?? null, (a as Record<string, Json>)[k] ?? null, field(rawE, k), field(rawA, k), out, isA32);
    }
    return;
  }
  if (Array.isArray(e) && Array.isArray(a)) {
    const n = Math.max(e.length, a.length);
    for (let i = 0; i < n; i++) walk(`${path}[${i}]`, e[i] ?? null, a[i] ?? null, field(rawE, i), field(rawA, i), out, false);
    return;
  }
  const d: FieldDiff = { path: path || '.', expected: e, actual: a };
  if (isEsrPath(path) && typeof rawE === 'bigint' && typeof rawA === 'bigint') {
    // AArch32 guests read DFSR/IFSR, whose layout is not ESR_ELx's
    const de: Record<string, string | number> = a32 ? decodeFsr32(rawE) : { ...decodeEsr(rawE) };
    const da: Record<string, string | number> = a32 ? decodeFsr32(rawA) : { ...decodeEsr(rawA) };
    const decoded: Record<string, { expected: Json; actual: Json }> = {};
    for (const k of Object.keys(de)) {
      if (de[k] !== da[k]) decoded[k] = { expected: de[k] ?? null, actual: da[k] ?? null };
    }
    out.push({ ...d, decoded });
    return;
  }
  out.push(d);
}

function field(v: unknown, k: string | number): unknown {
  if (v !== null && typeof v === 'object') return (v as Record<string | number, unknown>)[k];
  return undefined;
}
