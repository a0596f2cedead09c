// The node image carries this project as an arm64 machine would have it after `npm ci`: the package
// as `npm pack` makes it, its production dependencies installed for linux/arm64 (esbuild's arm64
// binary among them), the static helper, and a node_modules/.bin link so that `npx s2conform` runs
// it offline. Staged once per (package, lock, helper) under the cache.

import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { REPO_ROOT } from '../core/paths.ts';
import { BUILT_HELPER } from '../adapters/kvm/paths.ts';
import { testVmDir } from './provision.ts';

const MARKER = '.s2conform-project';

/** Returns the staged project directory (its package.json at the top). */
export function stageProject(log: (s: string) => void = () => undefined): string {
  const dest = join(testVmDir(), 'project');
  const tmp = mkdtempSync(join(tmpdir(), 's2c-pack-'));
  try {
    execaSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: REPO_ROOT });
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error('npm pack made no .tgz');
    const lock = readFileSync(join(REPO_ROOT, 'package-lock.json'));
    if (!existsSync(BUILT_HELPER)) throw new Error(`${BUILT_HELPER} is missing: run npm run provision`);
    const sha = createHash('sha256')
      .update(readFileSync(join(tmp, tgz)))
      .update(lock)
      .update(readFileSync(BUILT_HELPER))
      .digest('hex');
    if (existsSync(join(dest, MARKER)) && readFileSync(join(dest, MARKER), 'utf8') === sha) return dest;
    log('staging the project for linux/arm64 (npm pack; npm ci --omit=dev --os=linux --cpu=arm64)');
    execaSync('tar', ['xzf', join(tmp, tgz), '-C', tmp]);
    const pkg = join(tmp, 'package');
    writeFileSync(join(pkg, 'package-lock.json'), lock);
    // --ignore-scripts: esbuild's postinstall only checks its binary, which is arm64 and cannot run here
    execaSync('npm', ['ci', '--omit=dev', '--os=linux', '--cpu=arm64', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: pkg });
    if (!existsSync(join(pkg, 'node_modules', '@esbuild', 'linux-arm64'))) throw new Error('npm ci did not install @esbuild/linux-arm64');
    const helperDir = join(pkg, 'adapters', 'kvm', 'helper', 'build');
    mkdirSync(helperDir, { recursive: true });
    copyFileSync(BUILT_HELPER, join(helperDir, 's2c-helper'));
    mkdirSync(join(pkg, 'node_modules', '.bin'), { recursive: true });
    symlinkSync('../../bin/s2conform.mjs', join(pkg, 'node_modules', '.bin', 's2conform'));
    writeFileSync(join(pkg, MARKER), sha);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(testVmDir(), { recursive: true });
    renameSync(pkg, dest);
    return dest;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The npm of the machine that builds the image (pure JavaScript): npx inside the guest. */
export function hostNpm(): string {
  const root = String(execaSync('npm', ['root', '-g']).stdout).trim();
  const npm = join(root, 'npm');
  if (!existsSync(join(npm, 'bin', 'npx-cli.js'))) throw new Error(`no npm under ${root}`);
  return npm;
}
