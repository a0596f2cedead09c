// The harness address map is written once, in core/harness.ts: the helper's C files and guest.S
// read it from helper/harness.h, which scripts/gen-harness-h.ts generates. This fails when the
// committed header is not what the script writes now (run `npx tsx scripts/gen-harness-h.ts`),
// and when a helper file writes a harness address as a literal again.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HARNESS_DEFINES } from '../../core/harness.ts';
import { GUEST_STATES } from '../../core/target.ts';
import { HARNESS_H, guestStateId, harnessHeader } from '../../scripts/gen-harness-h.ts';
import { KVM_DIR } from './paths.ts';

const HELPER = join(KVM_DIR, 'helper');

describe('harness.h', () => {
  it('is what scripts/gen-harness-h.ts generates from core/harness.ts', () => {
    expect(readFileSync(HARNESS_H, 'utf8')).toBe(harnessHeader());
  });

  it('defines every constant of the map, once', () => {
    const text = harnessHeader();
    for (const d of HARNESS_DEFINES) {
      const lines = text.split('\n').filter((l) => l.startsWith(`#define ${d.name} `));
      expect(lines, d.name).toHaveLength(1);
      expect(lines[0]).toContain(`HARNESS_U64(0x${d.value.toString(16)})`);
    }
  });

  it('lists every guest state in order, and run.c gives each its PSTATE', () => {
    const listed = [...harnessHeader().matchAll(/^\tX\((\w+),\s*"([^"]+)"\)/gm)].map((m) => m[2]);
    expect(listed).toEqual([...GUEST_STATES]);
    const run = readFileSync(join(HELPER, 'run.c'), 'utf8');
    for (const s of GUEST_STATES) expect(run, s).toMatch(new RegExp(`^#define GS_${guestStateId(s)}\\s`, 'm'));
  });

  it('is included by guest.S and every helper file that uses the map, none of which writes an address itself', () => {
    const files = readdirSync(HELPER).filter((f) => /\.(c|h|S)$/.test(f) && f !== 'harness.h');
    const includes = (f: string, h: string): boolean =>
      new RegExp(`^#include "${h.replace('.', '\\.')}"`, 'm').test(readFileSync(join(HELPER, f), 'utf8'));
    const users = files.filter((f) => /\bHARNESS_[A-Z0-9_]+\b/.test(readFileSync(join(HELPER, f), 'utf8').replace(/\/\/.*$/gm, '')));
    expect(users).toContain('guest.S');
    for (const f of users)
      expect(includes(f, 'harness.h') || (files.includes('s2c.h') && includes(f, 's2c.h') && includes('s2c.h', 'harness.h')), f).toBe(true);
    for (const f of files) {
      // code, not comments: REPORT and END as literals (DONE and the code size, 0x10000, are also a
      // common size, so they are left to the #define check)
      const code = readFileSync(join(HELPER, f), 'utf8')
        .split('\n')
        .map((l) => l.replace(/\/\/.*$/, ''))
        .join('\n');
      expect(code, f).not.toMatch(/\b0x(10100|20000)(ULL)?\b/);
      expect(code, f).not.toMatch(/#define\s+(CODE_IPA|CODE_SIZE|DONE_IPA|REPORT_IPA|HARNESS_END|PT_L1_IPA|PT_POOL_IPA)\b/);
    }
  });
});
