// The CI examples in integrations/ are valid for their ecosystems: the GitHub workflow against
// GitHub's published workflow schema (action-validator, npm, offline), both files with yamllint (Debian's
// package; skipped with the reason where it is not installed). GitLab's own lint needs a GitLab instance.

import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const GH = join(ROOT, 'integrations', 'github-actions.yml');
const GL = join(ROOT, 'integrations', 'gitlab-ci.yml');
const VALIDATOR = join(ROOT, 'node_modules', '.bin', 'action-validator');
const YAMLLINT_CONFIG = '{extends: default, rules: {line-length: {max: 140}, document-start: disable, truthy: {check-keys: false}}}';
const yamllint = execaSync('sh', ['-c', 'command -v yamllint'], { reject: false }).exitCode === 0;

describe('integrations/: CI examples', () => {
  it('the GitHub workflow passes action-validator, and a broken copy does not', async () => {
    const ok = await execa(VALIDATOR, [GH], { reject: false });
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    const bad = join(mkdtempSync(join(tmpdir(), 's2c-int-')), 'bad.yml');
    writeFileSync(bad, readFileSync(GH, 'utf8').replace('timeout-minutes: 120', 'timeout-minutes: soon'));
    const r = await execa(VALIDATOR, [bad], { reject: false });
    expect(r.exitCode).not.toBe(0);
  });

  it.skipIf(!yamllint)(
    `both files pass yamllint${yamllint ? '' : ' (skipped: yamllint not installed: apt-get install yamllint)'}`,
    async () => {
      const r = await execa('yamllint', ['-d', YAMLLINT_CONFIG, GH, GL], { reject: false });
      expect(r.exitCode, r.stdout).toBe(0);
    },
  );

  it('every matrix target is a spec the CLI accepts, and both files run the same matrix', async () => {
    const targets = (f: string) => [...readFileSync(f, 'utf8').matchAll(/^\s+- "?(qemu:[^"\s]+)"?$/gm)].map((m) => m[1] ?? '');
    const gh = targets(GH);
    expect(gh.length).toBeGreaterThanOrEqual(10);
    expect(targets(GL)).toEqual(gh);
    const { checkTargetSpec } = await import('../adapters/index.ts');
    for (const t of gh) expect(() => checkTargetSpec(t), t).not.toThrow();
  });
});
