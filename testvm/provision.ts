// Fetches what the test VM is made of into the cache (`npm run provision -- --testvm ssh|node`):
//   testvm/root-<image>/     the image's pinned arm64 packages, `dpkg -x`ed into one tree
//   testvm/kernel-<name>/    per kernel: the modules its network needs (virtio_net and what it
//                            depends on, in load order, uncompressed) and its config, from the same
//                            pinned linux-image package the kernel came from
// Every .deb is checked against its sha256 pin before it is unpacked.

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
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execaSync } from 'execa';
import { cacheDir } from '../adapters/kvm/paths.ts';
import { kernelPins, type PinnedPackage } from '../adapters/kvm/pins.ts';
import { packagesOf, testVmPins, type TestVmImage } from './pins.ts';
import { loadOrder, modulesUnder, unpackModule } from '../adapters/kvm/modules.ts';

export const testVmDir = (): string => join(cacheDir(), 'testvm');
export const rootDir = (image: TestVmImage): string => join(testVmDir(), `root-${image}`);
export const kernelDir = (kernel: string): string => join(testVmDir(), `kernel-${kernel}`);
const MARKER = '.s2conform-testvm.json';

/** The network: virtio-pci and virtio-net, each a module or built in, with the modules they need. */
export const NET_MODULES = ['virtio_pci', 'virtio_net'] as const;

interface Fetched {
  readonly deb: string;
  readonly sha256: string;
}

/** One apt-get download for all of them (apt reads its lists once), then each sha256 against its pin. */
function download(
  dir: string,
  pins: readonly (Pick<PinnedPackage, 'package' | 'version' | 'sha256'> & { readonly architecture?: string })[],
): Fetched[] {
  const name = (p: { package: string; version: string; architecture?: string }): string =>
    `${p.package}${p.architecture === 'all' ? '' : ':arm64'}=${p.version}`;
  execaSync('apt-get', ['download', '-q', ...pins.map(name)], { cwd: dir, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  const files = readdirSync(dir);
  return pins.map((p) => {
    const f = files.find((n) => n.startsWith(`${p.package}_`) && n.endsWith('.deb'));
    if (!f) throw new Error(`apt-get download ${p.package} left no .deb`);
    const deb = join(dir, f);
    const sha256 = createHash('sha256').update(readFileSync(deb)).digest('hex');
    if (sha256 !== p.sha256) throw new Error(`sha256 mismatch for ${f}: got ${sha256}, pinned ${p.sha256}`);
    return { deb, sha256 };
  });
}

function marker(dir: string): unknown {
  const f = join(dir, MARKER);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as unknown) : undefined;
}

/** Unpacks into `<dest>.new-<pid>`, writes the marker, renames into place: a reader sees all or nothing. */
function install(dest: string, want: unknown, fill: (fresh: string, tmp: string) => void, log: (s: string) => void): void {
  if (JSON.stringify(marker(dest)) === JSON.stringify(want)) {
    log(`present: ${dest}`);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 's2c-testvm-'));
  chmodSync(tmp, 0o755); // apt's _apt user downloads into it
  const fresh = `${dest}.new-${process.pid}`;
  try {
    rmSync(fresh, { recursive: true, force: true });
    mkdirSync(fresh, { recursive: true });
    fill(fresh, tmp);
    writeFileSync(join(fresh, MARKER), `${JSON.stringify(want, null, 2)}\n`);
    rmSync(dest, { recursive: true, force: true });
    renameSync(fresh, dest);
    log(`unpacked: ${dest}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(fresh, { recursive: true, force: true });
  }
}

export function provisionImage(image: TestVmImage, log: (s: string) => void): void {
  const pkgs = packagesOf(testVmPins(), image);
  install(
    rootDir(image),
    { image, packages: pkgs.map((p) => `${p.package}=${p.version}`) },
    (fresh, tmp) => {
      download(tmp, pkgs).forEach((f, i) => {
        execaSync('dpkg', ['-x', f.deb, fresh]);
        rmSync(f.deb);
        log(`${pkgs[i]?.package ?? '?'}=${pkgs[i]?.version ?? '?'} sha256 ok`);
      });
      for (const d of ['usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/lintian', 'usr/share/info'])
        rmSync(join(fresh, d), { recursive: true, force: true });
    },
    log,
  );
}

/**
 * From 7.x Debian splits a kernel into linux-binary (the image), linux-base (the config) and
 * linux-modules (the modules): the modules package of the pinned binary, same version. Its sha256 is
 * the one the archive's signed index gives (apt-get download checks it too).
 */
function modulesPackage(p: PinnedPackage): PinnedPackage[] {
  if (!p.package.startsWith('linux-binary-')) return [];
  const name = p.package.replace(/^linux-binary-/, 'linux-modules-');
  const show = String(execaSync('apt-cache', ['show', `${name}:arm64=${p.version}`], { reject: false }).stdout);
  const sha256 = /^SHA256: ([0-9a-f]{64})$/m.exec(show)?.[1];
  if (!sha256) throw new Error(`${name}=${p.version} is not in the archive's index (the modules of ${p.package})`);
  return [{ package: name, version: p.version, sha256 }];
}

export function provisionKernelModules(kernel: string, log: (s: string) => void): void {
  const pin = kernelPins().find((k) => k.name === kernel);
  if (!pin) throw new Error(`unknown kernel '${kernel}'`);
  const packages = [...pin.packages, ...pin.packages.flatMap(modulesPackage)];
  install(
    kernelDir(kernel),
    { kernel, packages },
    (fresh, tmp) => {
      const x = join(tmp, 'x');
      for (const f of download(tmp, packages)) {
        execaSync('dpkg', ['-x', f.deb, x]);
        rmSync(f.deb);
      }
      const base = ['lib/modules', 'usr/lib/modules'].map((d) => join(x, d)).find((d) => existsSync(d));
      const release = base ? readdirSync(base).find((r) => existsSync(join(base, r, 'kernel'))) : undefined;
      if (!base || !release)
        throw new Error(`kernel ${kernel}: no lib/modules/<release>/kernel in ${pin.packages.map((p) => p.package).join(', ')}`);
      const cache = new Map<string, Uint8Array>();
      const read = (f: string): Uint8Array => cache.get(f) ?? cache.set(f, unpackModule(f)).get(f) ?? new Uint8Array(0);
      const files: string[] = [];
      for (const f of loadOrder(NET_MODULES, modulesUnder(join(base, release, 'kernel')), read)) {
        const name = basename(f).replace(/\.(xz|zst|gz)$/, '');
        writeFileSync(join(fresh, name), read(f));
        files.push(name);
      }
      writeFileSync(join(fresh, 'order'), `${files.join('\n')}\n`);
      writeFileSync(join(fresh, 'release'), `${release}\n`);
      const cfg = join(x, 'boot', `config-${release}`);
      if (existsSync(cfg)) copyFileSync(cfg, join(fresh, 'config'));
      log(`${kernel}: ${release}: ${files.join(' ') || '(virtio_net built in)'}`);
    },
    log,
  );
}

/** Why the test VM cannot boot here (what to provision), or undefined. */
export function testVmProblem(image: TestVmImage, kernel: string): string | undefined {
  if (!existsSync(join(rootDir(image), MARKER)))
    return `the test VM image '${image}' is not provisioned: run npm run provision -- --testvm ${image}`;
  if (!existsSync(join(kernelDir(kernel), MARKER)))
    return `the test VM has no network modules for kernel ${kernel}: run npm run provision -- --testvm ${image} --kernels ${kernel}`;
  return undefined;
}
