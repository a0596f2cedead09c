// The README's "test your own kernel tree" path. A prebuilt Image given by path, laid out as a
// kernel tree leaves it (arch/arm64/boot/Image, with .config at the top of the tree), runs as a target and
// is recorded by path and sha256; and the config fragment is the one the README and kernel-mutants use.
// The tree built by `npm run kernel-mutants` is run too when it is there.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { notProvisioned } from '../adapters/kvm/index.ts';
import type { Summary } from '../core/result.ts';
import { regionMutants } from '../scripts/kernel/tokens.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 's2conform.mjs');
const why = notProvisioned(['6.12']);
const cache = process.env['S2CONFORM_CACHE'] ?? join(homedir(), '.cache', 's2conform');
const built = join(cache, 'kernel-src', 'images', 'unmutated', 'Image');

async function runOn(image: string): Promise<Summary> {
  const dir = mkdtempSync(join(tmpdir(), 's2c-own-'));
  const r = await execa(
    'node',
    [
      BIN,
      'run',
      '--target',
      `qemu:max@${image}`,
      '--family',
      'vm-create,memslot',
      '--runs',
      '20',
      '--seed',
      '9',
      '--report',
      dir,
      '--quiet',
    ],
    { reject: false, timeout: 600_000 },
  );
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
}

describe('the config fragment', () => {
  it('has the options the suite needs, in merge_config.sh form', () => {
    const text = readFileSync(join(ROOT, 'fixtures', 'kernel', 's2conform.config'), 'utf8');
    const opts = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    for (const l of opts) expect(l).toMatch(/^CONFIG_[A-Z0-9_]+=(y|m|\d+|".*")$/);
    for (const need of [
      'CONFIG_KVM',
      'CONFIG_VIRTUALIZATION',
      'CONFIG_BLK_DEV_INITRD',
      'CONFIG_SERIAL_AMBA_PL011_CONSOLE',
      'CONFIG_DEVTMPFS',
      'CONFIG_ARM64_MTE',
      'CONFIG_HUGETLBFS',
      'CONFIG_ARM64_PA_BITS_52',
    ]) {
      expect(opts).toContain(`${need}=y`);
    }
  });
});

describe.skipIf(why !== undefined)(`a kernel given by path${why ? ` (skipped: ${why})` : ''}`, () => {
  it('a prebuilt Image in a tree layout: booted, its .config read, recorded by path and sha256', async () => {
    const tree = mkdtempSync(join(tmpdir(), 's2c-tree-'));
    const boot = join(tree, 'arch', 'arm64', 'boot');
    mkdirSync(boot, { recursive: true });
    copyFileSync(join(cache, 'kernels', '6.12', 'vmlinuz'), join(boot, 'Image'));
    copyFileSync(join(cache, 'kernels', '6.12', 'config'), join(tree, '.config'));
    const s = await runOn(join(boot, 'Image'));
    expect(s.target).toMatchObject({
      kind: 'qemu',
      kernel: { path: join(boot, 'Image'), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), config: join(tree, '.config'), pageSize: 4096 },
    });
    expect(s.totals.fail + s.totals.error).toBe(0);
  }, 600_000);

  it.skipIf(!existsSync(built))(
    `the tree npm run kernel-mutants built${existsSync(built) ? '' : ' (skipped: run npm run kernel-mutants -- --smoke first)'}`,
    async () => {
      const s = await runOn(built);
      expect(s.target).toMatchObject({ kernelRelease: expect.stringMatching(/^\d+\.\d+\.\d+/), kernel: { path: built } });
      expect(s.totals.fail + s.totals.error).toBe(0);
    },
    600_000,
  );
});

describe('single-token mutants of C (scripts/kernel/tokens.ts)', () => {
  const c = [
    'static int f(int a, int b)',
    '{',
    '\t/* a > b in a comment is not code */',
    '\tif (a >= b && !b)',
    '\t\treturn -EINVAL;',
    '\tkvm_err("a < b %d\\n", a < b);',
    '\tx->y = a << 2;',
    '\treturn a == 1;',
    '}',
    '',
  ].join('\n');
  const ms = regionMutants(c, { name: 'f', start: 'static int f(', end: '\n}\n' });
  const ids = ms.map((m) => `${m.id} [${m.from} → ${m.to}]`);
  it('mutates operators, conditions, literals and error returns, not comments, log lines, shifts or ->', () => {
    expect(ids).toEqual([
      'f+3:4: if (…) → if (1) [(a >= b && !b) → (1)]',
      'f+3:4: if (…) → if (0) [(a >= b && !b) → (0)]',
      'f+3:7: >= → > [>= → >]',
      'f+3:12: && → || [&& → ||]',
      'f+3:15: ! removed [! → ]',
      'f+4:9: -EINVAL → 0 [-EINVAL → 0]',
      'f+6:13: 2 → 3 [2 → 3]',
      'f+7:10: == → != [== → !=]',
      'f+7:13: 1 → 0 [1 → 0]',
    ]);
  });
  it('each mutant differs from the source in exactly that token', () => {
    for (const m of ms) {
      expect(m.text).not.toBe(c);
      expect(m.text.length - c.length).toBe(m.to.length - m.from.length);
    }
  });
});
