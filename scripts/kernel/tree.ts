// The kernel tree `npm run kernel-mutants` builds: Debian's linux-source package (pinned in
// fixtures/kernel-mutants/source.json), unpacked once into the cache, configured with allnoconfig plus
// fixtures/kernel/s2conform.config, built out of tree, and rebuilt incrementally after each patch.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../../core/paths.ts';
import { cacheDir } from '../../adapters/kvm/paths.ts';
import { withCacheLock } from '../../adapters/kvm/lock.ts';

export const FRAGMENT = join(REPO_ROOT, 'fixtures', 'kernel', 's2conform.config');
export const SOURCE_PIN = join(REPO_ROOT, 'fixtures', 'kernel-mutants', 'source.json');
const ENV = { ARCH: 'arm64', CROSS_COMPILE: 'aarch64-linux-gnu-' };
/** what a kernel build needs beyond the cross compiler `npm run provision` installs */
const BUILD_PACKAGES = ['flex', 'bison', 'libelf-dev', 'bc', 'make', 'xz-utils', 'patch'];

export interface SourcePin {
  readonly package: string;
  readonly version: string;
  readonly suite: string;
  readonly sha256: string;
  readonly tarball: string;
  readonly tree: string;
}

export interface Tree {
  readonly src: string;
  readonly build: string;
  readonly pin: SourcePin;
  readonly log: (s: string) => void;
}

export class TreeError extends Error {
  override readonly name = 'TreeError';
}

const root = (): string => join(cacheDir(), 'kernel-src');
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

async function ensureBuildTools(log: (s: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const p of BUILD_PACKAGES) {
    const r = await execa('dpkg-query', ['-W', '-f', '${Status}', p], { reject: false });
    if (!String(r.stdout).includes('install ok installed')) missing.push(p);
  }
  if ((await execa('sh', ['-c', 'command -v aarch64-linux-gnu-gcc'], { reject: false })).exitCode !== 0) {
    throw new TreeError('aarch64-linux-gnu-gcc not found: run `npm run provision` first');
  }
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')} (apt-get)`);
  const r = await execa('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
    reject: false,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.exitCode !== 0)
    throw new TreeError(`apt-get install ${missing.join(' ')} failed: ${String(r.stderr).split('\n').slice(-3).join(' ')}`);
}

/** Unpack the pinned linux-source into the cache once (checked by sha256), and return the tree. */
export async function ensureTree(log: (s: string) => void): Promise<Tree> {
  const pin = JSON.parse(readFileSync(SOURCE_PIN, 'utf8')) as SourcePin;
  await ensureBuildTools(log);
  const src = join(root(), pin.tree);
  const build = join(root(), `build-${pin.tree.replace(/^linux-source-/, '')}`);
  const marker = join(src, '.s2conform-source.json');
  const want = JSON.stringify({ package: pin.package, version: pin.version, sha256: pin.sha256 });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return { src, build, pin, log };
  await withCacheLock(
    'kernel-mutants: linux-source',
    async () => {
      if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return;
      const dl = join(root(), 'dl');
      mkdirSync(dl, { recursive: true });
      let deb = readdirSync(dl).find((f) => f.startsWith(`${pin.package}_`) && f.endsWith('.deb'));
      if (!deb || sha256(join(dl, deb)) !== pin.sha256) {
        for (const f of readdirSync(dl)) rmSync(join(dl, f), { force: true });
        log(`apt-get download ${pin.package}=${pin.version} (${pin.suite})`);
        const r = await execa('apt-get', ['download', `${pin.package}=${pin.version}`], { cwd: dl, reject: false });
        deb = readdirSync(dl).find((f) => f.startsWith(`${pin.package}_`) && f.endsWith('.deb'));
        if (r.exitCode !== 0 || !deb) {
          throw new TreeError(
            `apt-get download ${pin.package}=${pin.version} failed (is ${pin.suite} in the apt sources? npm run provision writes them): ${String(r.stderr).trim().split('\n').pop() ?? ''}`,
          );
        }
      }
      const got = sha256(join(dl, deb));
      if (got !== pin.sha256) throw new TreeError(`${deb}: sha256 ${got}, pinned ${pin.sha256} (fixtures/kernel-mutants/source.json)`);
      const fresh = join(root(), `${pin.tree}.new-${process.pid}`);
      rmSync(fresh, { recursive: true, force: true });
      mkdirSync(fresh, { recursive: true });
      log(`unpacking ${pin.tarball} into ${src}`);
      await execa('sh', [
        '-c',
        `dpkg-deb --fsys-tarfile "$1" | tar -xO ./"$2" | tar -xJ -C "$3" --strip-components=1`,
        'sh',
        join(dl, deb),
        pin.tarball,
        fresh,
      ]);
      writeFileSync(join(fresh, '.s2conform-source.json'), want);
      rmSync(src, { recursive: true, force: true });
      renameSync(fresh, src);
      rmSync(build, { recursive: true, force: true }); // objects of another tree are worthless
    },
    60 * 60_000,
    '.lock-kernel-src',
  );
  return { src, build, pin, log };
}

const make = (t: Tree, args: string[]) => execa('make', ['-C', t.src, `O=${t.build}`, ...args], { env: ENV, reject: false, all: true });

/** allnoconfig + the fragment, redone only when the fragment changes; every fragment option must stick. */
export async function configure(t: Tree): Promise<void> {
  mkdirSync(t.build, { recursive: true });
  const fragment = readFileSync(FRAGMENT, 'utf8');
  const stamp = join(t.build, '.s2conform-fragment');
  const config = join(t.build, '.config');
  if (existsSync(config) && existsSync(stamp) && readFileSync(stamp, 'utf8') === fragment) return;
  t.log('configuring: allnoconfig + fixtures/kernel/s2conform.config');
  const steps: [string, string[]][] = [
    ['make', ['allnoconfig']],
    [join(t.src, 'scripts', 'kconfig', 'merge_config.sh'), ['-O', t.build, '-m', config, FRAGMENT]],
    ['make', ['olddefconfig']],
  ];
  for (const [cmd, args] of steps) {
    const r = cmd === 'make' ? await make(t, args) : await execa(cmd, args, { cwd: t.src, env: ENV, reject: false, all: true });
    if (r.exitCode !== 0) throw new TreeError(`${cmd} ${args.join(' ')} failed:\n${String(r.all).split('\n').slice(-15).join('\n')}`);
  }
  const have = readFileSync(config, 'utf8');
  const lost = [...fragment.matchAll(/^(CONFIG_[A-Z0-9_]+)=(.*)$/gm)].filter((m) => !have.includes(`\n${m[1]}=${m[2]}\n`)).map((m) => m[1]);
  if (lost.length > 0) throw new TreeError(`options of the fragment that did not stick (unmet dependencies?): ${lost.join(', ')}`);
  writeFileSync(stamp, fragment);
}

export interface BuildResult {
  readonly ok: boolean;
  readonly seconds: number;
  /** the last lines of the build log when it failed */
  readonly tail?: string;
}

/** make Image (incremental), all cores. */
export async function buildImage(t: Tree): Promise<BuildResult> {
  const t0 = performance.now();
  const r = await make(t, [`-j${cpus().length}`, 'Image']);
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  writeFileSync(join(t.build, 'build.log'), String(r.all));
  if (r.exitCode === 0) return { ok: true, seconds };
  const errors = String(r.all)
    .split('\n')
    .filter((l) => /error:|Error \d/.test(l));
  return { ok: false, seconds, tail: (errors.length > 0 ? errors : String(r.all).split('\n')).slice(-6).join('\n') };
}

/** Copy the built Image and its .config where a qemu: target can name it by path (config beside it). */
export function keepImage(t: Tree, name: string): string {
  const dir = join(root(), 'images', name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(t.build, 'arch', 'arm64', 'boot', 'Image'), join(dir, 'Image.tmp'));
  renameSync(join(dir, 'Image.tmp'), join(dir, 'Image'));
  copyFileSync(join(t.build, '.config'), join(dir, 'config'));
  return join(dir, 'Image');
}

async function patch(t: Tree, file: string, reverse: boolean, dryRun = false): Promise<{ ok: boolean; out: string }> {
  const r = await execa(
    'patch',
    ['-p1', '--forward', '--batch', '--no-backup-if-mismatch', ...(reverse ? ['-R'] : []), ...(dryRun ? ['--dry-run'] : []), '-i', file],
    {
      cwd: t.src,
      reject: false,
      all: true,
    },
  );
  return { ok: r.exitCode === 0, out: String(r.all) };
}

/** Apply a patch, run fn, and always take the patch back out (the tree stays pristine between mutants). */
export async function withPatch<T>(t: Tree, file: string, fn: () => Promise<T>): Promise<T> {
  const dry = await patch(t, file, false, true);
  if (!dry.ok) throw new TreeError(`${file} does not apply to ${t.pin.tree} ${t.pin.version}:\n${dry.out}`);
  await patch(t, file, false);
  try {
    return await fn();
  } finally {
    const back = await patch(t, file, true);
    // a tree left patched would poison every later build: that error wins over fn's own
    // biome-ignore lint/correctness/noUnsafeFinally: deliberate, see above
    if (!back.ok) throw new TreeError(`could not take ${file} back out of ${t.src}: ${back.out} (delete ${t.src} to start clean)`);
  }
}

/** Write a mutated copy of one file for fn, and put the original back afterwards. */
export async function withFileText<T>(t: Tree, rel: string, text: string, fn: () => Promise<T>): Promise<T> {
  const path = join(t.src, rel);
  const original = readFileSync(path, 'utf8');
  writeFileSync(path, text);
  try {
    return await fn();
  } finally {
    writeFileSync(path, original);
  }
}
