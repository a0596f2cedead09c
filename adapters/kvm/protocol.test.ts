// The helper's op table (helper/protocol.c) and the protocol table of adapters/kvm/README.md name
// the same ops: an op the helper answers is documented, and a documented op exists.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KVM_DIR } from './paths.ts';

/** The names in `static const struct op {...} ops[] = { {"name", op_fn, "what"}, ... };`. */
export function opTableNames(c: string): string[] {
  const table = /\bops\[\]\s*=\s*\{([\s\S]*?)\n\};/.exec(c)?.[1];
  if (table === undefined) throw new Error('protocol.c: no ops[] table');
  return [...table.matchAll(/^\s*\{\s*"([a-z_0-9]+)"\s*,\s*op_[a-z_0-9]+\s*,/gm)].map((m) => m[1] ?? '');
}

/** The op names of the README's "## Protocol" table: the first cell of each row, "a, b" naming two. */
export function readmeOpNames(md: string): string[] {
  const section = /^## Protocol\b[^\n]*\n([\s\S]*?)(?=^## )/m.exec(md)?.[1];
  if (section === undefined) throw new Error('README: no "## Protocol" section');
  const rows = section.split('\n').filter((l) => l.startsWith('|'));
  const [header, rule, ...body] = rows;
  if (header === undefined || !/^\|\s*op\s*\|/.test(header) || rule === undefined)
    throw new Error('README: the protocol table has no "op" column');
  return body.flatMap((r) => (r.split('|')[1] ?? '').split(',').map((n) => n.trim().replace(/`/g, ''))).filter((n) => n !== '');
}

describe('helper op table vs README protocol table', () => {
  const ops = opTableNames(readFileSync(join(KVM_DIR, 'helper', 'protocol.c'), 'utf8'));
  const documented = readmeOpNames(readFileSync(join(KVM_DIR, 'README.md'), 'utf8'));

  it('reads both tables', () => {
    expect(ops.length).toBeGreaterThan(10);
    expect(new Set(ops).size).toBe(ops.length);
    expect(ops).toContain('run');
  });

  it('documents every op the helper answers', () => {
    expect(ops.filter((o) => !documented.includes(o))).toEqual([]);
  });

  it('documents no op the helper does not answer', () => {
    expect(documented.filter((o) => !ops.includes(o))).toEqual([]);
  });

  it('catches an op without a row (small tables)', () => {
    const md =
      '## Protocol\n| op | request | response |\n| --- | --- | --- |\n| ping, shutdown | | ok |\n| run | vm | outcome |\n## Next\n';
    expect(readmeOpNames(md)).toEqual(['ping', 'shutdown', 'run']);
    const c = 'static const struct op {\n} ops[] = {\n\t{"ping", op_ping, "x"},\n\t{"stats", op_stats, "y"},\n};\n';
    expect(opTableNames(c).filter((o) => !readmeOpNames(md).includes(o))).toEqual(['stats']);
  });
});
