// JSON with bigint: every 64-bit value is written as a "0x…" hex string.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function toJson(v: unknown): Json {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const o: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) o[k] = toJson(x);
    return o;
  }
  return String(v);
}

export function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
