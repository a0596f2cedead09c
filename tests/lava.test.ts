// The LAVA test definition and the pieces around it. The whole job, run by Debian's
// lava-dispatcher on a QEMU device, is `npm run lava-smoke` (.ci/run runs it); here: the definition is
// valid YAML of the "Lava-Test Test Definition 1.0" format, the dispatcher itself accepts the job and
// device lava-smoke writes (and refuses a broken one), the verdict → lava-test-case mapping, the
// artefacts' round trip through the log, and reading the dispatcher's result records.

import { execa, execaSync } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceYaml, jobYaml, lavaResults } from '../scripts/lava-smoke.ts';

const ROOT = join(import.meta.dirname, '..');
const LAVA = join(ROOT, 'integrations', 'lava');
const DEFINITION = join(LAVA, 's2conform.yaml');
const has = (cmd: string): boolean => execaSync('sh', ['-c', `command -v ${cmd}`], { reject: false }).exitCode === 0;
const pyYaml = execaSync('python3', ['-c', 'import yaml'], { reject: false }).exitCode === 0;
const lavaRun = has('lava-run') && process.getuid?.() === 0;
const tmp = (): string => mkdtempSync(join(tmpdir(), 's2c-lava-'));

describe('integrations/lava: the LAVA test definition', () => {
  it.skipIf(!pyYaml)(
    `is a Lava-Test Test Definition 1.0 with runs, seed and families as parameters${pyYaml ? '' : ' (skipped: python3-yaml not installed)'}`,
    async () => {
      const r = await execa('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', DEFINITION]);
      const d = JSON.parse(r.stdout) as {
        metadata: { format: string; name: string };
        params: Record<string, string>;
        run: { steps: string[] };
      };
      expect(d.metadata.format).toBe('Lava-Test Test Definition 1.0');
      expect(d.metadata.name).toBe('s2conform');
      expect(Object.keys(d.params)).toEqual(expect.arrayContaining(['RUNS', 'SEED', 'FAMILIES']));
      expect(d.run.steps.join('\n')).toMatch(/run\.sh "\$\{RUNS\}" "\$\{SEED\}" "\$\{FAMILIES\}"/);
      expect(readFileSync(join(LAVA, 'run.sh'), 'utf8')).toMatch(/--target native/);
    },
  );

  it.skipIf(!has('yamllint'))('passes yamllint', async () => {
    const r = await execa('yamllint', ['-d', '{extends: default, rules: {line-length: {max: 140}, document-start: disable}}', DEFINITION], {
      reject: false,
    });
    expect(r.exitCode, r.stdout).toBe(0);
  });

  it.skipIf(!lavaRun)(
    `the dispatcher validates the job and device lava-smoke writes, and refuses a broken job${lavaRun ? '' : ' (skipped: needs lava-run and root)'}`,
    async () => {
      const dir = tmp();
      writeFileSync(join(dir, 'vmlinuz'), 'x');
      writeFileSync(join(dir, 'initrd.gz'), 'x');
      writeFileSync(join(dir, 'device.yaml'), deviceYaml('/usr/bin/true'));
      const job = jobYaml(join(dir, 'vmlinuz'), join(dir, 'initrd.gz'), readFileSync(DEFINITION, 'utf8'), {
        RUNS: '5',
        SEED: '1',
        FAMILIES: 'vm-create',
      });
      writeFileSync(join(dir, 'job.yaml'), job);
      const ok = await execa(
        'lava-run',
        ['--job-id', '9001', '--output-dir', join(dir, 'out'), '--device', join(dir, 'device.yaml'), '--validate', join(dir, 'job.yaml')],
        { reject: false },
      );
      expect(
        ok.exitCode,
        ok.stdout
          .split('\n')
          .filter((l) => l.includes('error'))
          .join('\n'),
      ).toBe(0);
      writeFileSync(join(dir, 'bad.yaml'), job.replace('context:\n  arch: arm64\n', ''));
      const bad = await execa(
        'lava-run',
        ['--job-id', '9002', '--output-dir', join(dir, 'out2'), '--device', join(dir, 'device.yaml'), '--validate', join(dir, 'bad.yaml')],
        { reject: false },
      );
      expect(bad.exitCode).not.toBe(0);
      expect(bad.stdout + bad.stderr).toMatch(/Missing 'arch' in job context/);
    },
    120_000,
  );

  it('reports each property with lava-test-case: pass, fail, skip, and unknown for an error', async () => {
    const dir = tmp();
    const summary = {
      properties: [
        { family: 'vm-create', name: 'ipa-limit', verdict: 'pass' },
        { family: 'abort', name: 'in-range', verdict: 'fail' },
        { family: 'mte', name: 'tags', verdict: 'skip' },
        { family: 'memslot', name: 'sequence', verdict: 'error' },
      ],
      regressions: { failed: 0, errors: 0 },
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
    const r = await execa('node', [join(LAVA, 'cases.mjs'), join(dir, 'summary.json')], { env: { PATH: '/usr/bin:/bin' } });
    expect(r.stdout.trim().split('\n')).toEqual([
      'lava-test-case vm-create.ipa-limit --result pass',
      'lava-test-case abort.in-range --result fail',
      'lava-test-case mte.tags --result skip',
      'lava-test-case memslot.sequence --result unknown',
      'lava-test-case regressions.corpus --result pass',
    ]);
  });

  it('brings the reports back from the log the device printed them into', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'report'));
    writeFileSync(join(dir, 'report', 'summary.json'), '{"ok":true}\n');
    const b64 = execaSync('sh', ['-c', `tar czf - -C "${join(dir, 'report')}" . | base64`]).stdout;
    const log = ['s2conform-artefacts-begin', ...b64.split('\n'), 's2conform-artefacts-end']
      .map((m) => `{"dt": "2026-11-30T19:07:50", "lvl": "target", "msg": "${m}"}`)
      .join('\n');
    writeFileSync(join(dir, 'log.yaml'), log);
    await execa('node', [join(LAVA, 'artefacts.mjs'), join(dir, 'log.yaml'), join(dir, 'back')]);
    expect(readFileSync(join(dir, 'back', 'summary.json'), 'utf8')).toBe('{"ok":true}\n');
    writeFileSync(join(dir, 'empty.yaml'), '{"lvl": "target", "msg": "nothing"}\n');
    expect((await execa('node', [join(LAVA, 'artefacts.mjs'), join(dir, 'empty.yaml'), join(dir, 'x')], { reject: false })).exitCode).toBe(
      1,
    );
  });

  it("reads the dispatcher's result records (YAML flow lines with tags)", () => {
    const log = [
      '{"dt": "2026-11-30T19:07:49.913943", "lvl": "results", "msg": {"case": "vm-create.ipa-limit", "definition": "0_s2conform", "endtc": ! "511", "result": "pass", "starttc": ! "511"}}',
      '{"dt": "2026-11-30T19:07:49.9", "lvl": "target", "msg": "lava-test-case x --result fail"}',
      '{"dt": "2026-11-30T19:07:52.1", "lvl": "results", "msg": {"case": "job", "definition": "lava", "result": "pass"}}',
    ].join('\n');
    expect(lavaResults(log)).toEqual([
      { definition: '0_s2conform', case: 'vm-create.ipa-limit', result: 'pass' },
      { definition: 'lava', case: 'job', result: 'pass' },
    ]);
  });
});
