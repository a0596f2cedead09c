// `npm run provision`: what the `kvm` adapter needs on a Debian x86_64 machine, from Debian's packages.
//   1. host tools: qemu-system-arm (bookworm: the shared libraries every pinned QEMU runs with), the
//      aarch64 cross compiler and arm64 libc headers (apt-get install, skipped when present)
//   2. the arm64 dpkg architecture and one apt source file for the suites the pins need (arm64 only for
//      kernels; amd64 for emulators), its URI copied from the machine's own Debian source
//   3. kernels (fixtures/kernels.json): `apt-get download`, sha256 against the pin, `dpkg -x`, only the
//      image and its config kept (and the virtio console modules where the kernel builds them as modules), into $S2CONFORM_CACHE/kernels/<name>/ (default ~/.cache/s2conform)
//   4. emulators (fixtures/emulators.json): the same, into $S2CONFORM_CACHE/qemu/<name>/
//   5. the static aarch64 helper (adapters/kvm/helper/build.sh)
//   6. with --testvm: the test VM's arm64 packages (fixtures/testvm.json) and the network modules of
//      the kernels selected (testvm/provision.ts)
// Idempotent and safe to run twice at once: one lock over the cache, every unpack renamed into place.
//
// Options:
//   --kernels ci|all|none|<name,...> which kernels (default: those marked "ci")
//   --qemu default|all|none|<name,...> which emulators (default: the default one, QEMU 10)
//   --allow-newer                 a pin that has left the archive: take the newest of its series, loudly
//                                 (also S2CONFORM_ALLOW_NEWER=1)
//   --testvm none|ssh[,node]      the test VM's images (testvm/): ssh = busybox + dropbear, node = the
//                                 same + Debian's nodejs (default none)
//   --kernels-only, --helper-only, --no-tools

import { execaSync } from 'execa';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CONSOLE_MODULES, EMULATOR_MARKER, KERNEL_MARKER, KVM_DIR, cacheDir, consoleIsModular, findEmulator, findKernel, parseConfig, type KernelMarker } from './paths.ts';
import { loadOrder, modulesUnder, unpackModule } from './modules.ts';
import { emulatorPins, kernelPins, type PinnedPackage } from './pins.ts';
import { withCacheLock } from './lock.ts';
import { TESTVM_IMAGES, testVmPins, type TestVmImage } from '../../testvm/pins.ts';
import { provisionImage, provisionKernelModules } from '../../testvm/provision.ts';

const SOURCES = '/etc/apt/sources.list.d/s2conform.sources';
const OLD_SOURCES = ['/etc/apt/sources.list.d/s2conform-backports-arm64.sources'];

const step = (s: string): void => void process.stdout.write(`\n==> ${s}\n`);
const info = (s: string): void => void process.stdout.write(`    ${s}\n`);
class ProvisionError extends Error {}
const die = (s: string): never => {
  throw new ProvisionError(s);
};
const loud = (...lines: string[]): void => {
  const bar = '!'.repeat(72);
  process.stderr.write(`\n${bar}\n${lines.map((l) => `!!! ${l}`).join('\n')}\n${bar}\n\n`);
};

interface Args {
  kernels: string;
  qemu: string;
  allowNewer: boolean;
  tools: boolean;
  downloads: boolean;
  helper: boolean;
  testvm: TestVmImage[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { kernels: 'ci', qemu: 'default', allowNewer: process.env['S2CONFORM_ALLOW_NEWER'] === '1', tools: true, downloads: true, helper: true, testvm: [] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const val = (): string => argv[++i] ?? die(`provision: ${x} needs a value`);
    if (x === '--kernels') a.kernels = val();
    else if (x?.startsWith('--kernels=')) a.kernels = x.slice(10);
    else if (x === '--qemu') a.qemu = val();
    else if (x?.startsWith('--qemu=')) a.qemu = x.slice(7);
    else if (x === '--allow-newer') a.allowNewer = true;
    else if (x === '--testvm' || x?.startsWith('--testvm=')) {
      const v = x === '--testvm' ? val() : x.slice(9);
      a.testvm = v === 'none' ? [] : v.split(',').map((w) => TESTVM_IMAGES.find((i) => i === w) ?? die(`provision: --testvm takes none or a list of ${TESTVM_IMAGES.join(', ')}`));
    }
    else if (x === '--kernels-only') a.helper = false;
    else if (x === '--helper-only') { a.downloads = false; a.tools = false; }
    else if (x === '--no-tools') a.tools = false;
    else if (x === '-h' || x === '--help') {
      const src = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
      process.stdout.write(src.slice(0, src.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else die(`provision: unknown argument '${x}' (try --help)`);
  }
  return a;
}

/** A command and its arguments (never a shell): status, stdout, stderr. */
function spawnSync(file: string, args: string[], opts: { cwd?: string } = {}): { status: number | undefined; stdout: string; stderr: string } {
  const r = execaSync(file, args, { ...(opts.cwd ? { cwd: opts.cwd } : {}), reject: false, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  return { status: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function run(file: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(file, args, opts);
  if (r.status !== 0) die(`${file} ${args.join(' ')} failed (exit ${r.status ?? 'signal'}):\n${(r.stderr || r.stdout || '').trim().slice(-2000)}`);
  return r.stdout;
}

const isRoot = (): boolean => process.getuid?.() === 0;
const needRoot = (what: string): void => {
  if (!isRoot()) die(`${what} needs root (apt-get/dpkg): run it as root: sudo npm run provision`);
};

function installed(pkg: string): string | undefined {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg]);
  const [status, version] = r.stdout.split('\t');
  return r.status === 0 && status === 'install ok installed' ? version : undefined;
}

let aptUpdated = false;
function aptUpdate(): void {
  if (aptUpdated) return;
  needRoot('apt-get update');
  info('apt-get update');
  const out = run('apt-get', ['update']);
  if (/^(W|E): (Failed to fetch|Some index files failed)/m.test(out)) die('apt-get update could not fetch some indexes: is the machine offline?');
  aptUpdated = true;
}

/** The URI and keyring of the machine's own source for `codename` (deb822 first, then one-line). */
function debianSource(codename: string): { uri: string; signedBy: string } {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  const d = '/etc/apt/sources.list.d';
  if (existsSync(d)) for (const f of readdirSync(d).sort()) if (/\.(list|sources)$/.test(f) && !f.startsWith('s2c')) files.push(join(d, f));
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const kv: Record<string, string> = {};
        for (const line of stanza.split('\n')) {
          const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (m?.[1] && m[2] !== undefined && !line.startsWith('#')) kv[m[1].toLowerCase()] = m[2].trim();
        }
        if (kv['enabled'] === 'no') continue;
        if (!(kv['types'] ?? '').split(/\s+/).includes('deb') || !(kv['suites'] ?? '').split(/\s+/).includes(codename)) continue;
        const uri = (kv['uris'] ?? '').split(/\s+/)[0];
        if (uri) return { uri, signedBy: kv['signed-by'] ?? '' };
      }
    } else {
      for (const raw of text.split('\n')) {
        const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s/.exec(raw.replace(/#.*/, '').trim() + ' ');
        if (!m || m[3] !== codename || !m[2]) continue;
        return { uri: m[2], signedBy: /signed-by=(\S+)/.exec(m[1] ?? '')?.[1] ?? '' };
      }
    }
  }
  return die(`no apt source for suite '${codename}' in /etc/apt/sources.list(.d): cannot derive the archive's URI`);
}

/** One apt source file: each suite the pins need that the machine lacks, for the architectures it is needed for. */
function ensureSources(need: ReadonlyMap<string, ReadonlySet<string>>): void {
  const codename = /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.trim() ?? die('cannot read VERSION_CODENAME from /etc/os-release');
  const own = debianSource(codename);
  const signedBy = own.signedBy || '/usr/share/keyrings/debian-archive-keyring.gpg';
  const stanzas: string[] = [`# Written by s2conform (npm run provision): suites for pinned kernels and emulators.\n# URI copied from this machine's own '${codename}' source.`];
  const byArch = new Map<string, string[]>();
  for (const [suite, archs] of [...need].sort()) {
    if (suite === codename) continue; // the machine's own source serves it, for every dpkg architecture
    const key = [...archs].sort().join(' ');
    byArch.set(key, [...(byArch.get(key) ?? []), suite]);
  }
  for (const [archs, suites] of byArch)
    stanzas.push(`Types: deb\nURIs: ${own.uri}\nSuites: ${suites.join(' ')}\nComponents: main\nArchitectures: ${archs}\nSigned-By: ${signedBy}`);
  const text = stanzas.join('\n\n') + '\n';
  const stale = OLD_SOURCES.filter(existsSync);
  if (existsSync(SOURCES) && readFileSync(SOURCES, 'utf8') === text && stale.length === 0) {
    info(`present: ${SOURCES}`);
    return;
  }
  needRoot('adding an apt source');
  for (const f of stale) rmSync(f);
  writeFileSync(`${SOURCES}.tmp`, text);
  renameSync(`${SOURCES}.tmp`, SOURCES);
  info(`wrote ${SOURCES}: ${[...byArch].map(([a, s]) => `${s.join(' ')} (${a})`).join('; ')}`);
  aptUpdated = false;
}

function ensureArm64(): void {
  if (run('dpkg', ['--print-foreign-architectures']).split('\n').includes('arm64')) return info('dpkg: arm64 already added');
  needRoot('dpkg --add-architecture arm64');
  run('dpkg', ['--add-architecture', 'arm64']);
  info('dpkg: added arm64');
  aptUpdated = false;
}

/** Versions of a package the archive serves for an architecture (newest first). */
function madison(pkg: string, arch: string): string[] {
  const out = spawnSync('apt-cache', ['madison', `${pkg}:${arch}`]).stdout;
  return out.split('\n').map((l) => l.split('|')[1]?.trim()).filter((v): v is string => !!v);
}

/** Newest package in a series (a regular expression over names) for an architecture. */
function newestOf(series: string, arch: string): { package: string; version: string } | undefined {
  const names = spawnSync('apt-cache', ['search', '--names-only', series]).stdout
    .split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => new RegExp(series).test(n));
  let best: { package: string; version: string } | undefined;
  for (const p of names)
    for (const v of madison(p, arch))
      if (!best || spawnSync('dpkg', ['--compare-versions', v, 'gt', best.version]).status === 0) best = { package: p, version: v };
  return best;
}

/** Fetches and checks pinned packages; returns the .deb files in a private temporary directory. */
function fetch(what: string, pins: readonly PinnedPackage[], series: readonly string[] | undefined, arch: string, allowNewer: boolean) {
  const tmp = mkdtempSync(join(tmpdir(), 's2c-deb-'));
  chmodSync(tmp, 0o755); // apt's _apt user downloads into it
  const got: { package: string; version: string; sha256: string; deb: string }[] = [];
  let newer = false;
  pins.forEach((pin, i) => {
    let want: { package: string; version: string; sha256: string | undefined } = pin;
    if (!madison(pin.package, arch).includes(pin.version)) aptUpdate();
    if (!madison(pin.package, arch).includes(pin.version)) {
      const s = series?.[i];
      const alt = s ? newestOf(s, arch) : undefined;
      if (!allowNewer || !alt)
        die(`${what}: pinned ${pin.package}:${arch}=${pin.version} is no longer in the archive${alt ? ` (newest of its series: ${alt.package}=${alt.version})` : ''}.\n` +
            'Update the pin in fixtures/, or re-run with --allow-newer (S2CONFORM_ALLOW_NEWER=1).');
      if (!alt) return;
      want = { ...alt, sha256: undefined };
      newer = true;
      loud(`${what}: pinned ${pin.package}=${pin.version} has VANISHED from the archive.`,
           `--allow-newer: using ${alt.package}=${alt.version} instead, WITHOUT a sha256 pin.`, 'Update fixtures/ to make runs reproducible.');
    }
    run('apt-get', ['download', '-q', `${want.package}:${arch}=${want.version}`], { cwd: tmp });
    const deb = readdirSync(tmp).map((f) => join(tmp, f)).find((f) => f.endsWith('.deb') && basename(f).startsWith(`${want.package}_`))
      ?? die(`${what}: apt-get download of ${want.package} left no .deb`);
    const sha256 = createHash('sha256').update(readFileSync(deb)).digest('hex');
    if (want.sha256 && sha256 !== want.sha256) die(`${what}: sha256 mismatch for ${basename(deb)}: got ${sha256}, pinned ${want.sha256}`);
    info(`${what}: ${basename(deb)} sha256 ${want.sha256 ? 'ok' : `${sha256} (no pin to compare with)`}`);
    got.push({ package: want.package, version: want.version, sha256, deb });
  });
  return { tmp, got, newer };
}

function find(dir: string, test: (rel: string) => boolean): string | undefined {
  const walk = (rel: string): string | undefined => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        const x = walk(r);
        if (x) return x;
      } else if (test(r)) return r;
    }
    return undefined;
  };
  return walk('');
}

/** CONSOLE_MODULES and what they depend on, from the unpacked packages into <fresh>/modules/, in insmod order. */
function keepConsoleModules(name: string, x: string, fresh: string): string[] {
  const base = ['lib/modules', 'usr/lib/modules'].map((d) => join(x, d)).find((d) => existsSync(d));
  const release = base ? readdirSync(base).find((r) => existsSync(join(base, r, 'kernel'))) : undefined;
  if (!base || !release) {
    loud(`kernel ${name}: builds the virtio console as a module but its packages carry no lib/modules/<release>/kernel: the helper talks over the PL011 (slow)`);
    return [];
  }
  const cache = new Map<string, Uint8Array>();
  const read = (f: string): Uint8Array => cache.get(f) ?? cache.set(f, unpackModule(f)).get(f) ?? new Uint8Array(0);
  mkdirSync(join(fresh, 'modules'));
  const kept: string[] = [];
  for (const f of loadOrder(CONSOLE_MODULES, modulesUnder(join(base, release, 'kernel')), read)) {
    const rel = join('modules', basename(f).replace(/\.(xz|zst|gz)$/, ''));
    writeFileSync(join(fresh, rel), read(f));
    kept.push(rel);
  }
  info(`${name}: virtio console modules ${kept.map((k) => basename(k)).join(' ')}`);
  return kept;
}

function provisionKernels(names: string[], allowNewer: boolean): void {
  const kdir = join(cacheDir(), 'kernels');
  mkdirSync(kdir, { recursive: true });
  for (const name of names) {
    const pin = kernelPins().find((k) => k.name === name) ?? die(`unknown kernel '${name}' (fixtures/kernels.json has: ${kernelPins().map((k) => k.name).join(', ')})`);
    const dest = join(kdir, name);
    const marker = join(dest, KERNEL_MARKER);
    const pinned = pin.packages.map((p) => ({ package: p.package, version: p.version }));
    if (existsSync(marker)) {
      const broken = findKernel(name);
      const m = typeof broken === 'string' ? undefined : (JSON.parse(readFileSync(marker, 'utf8')) as KernelMarker);
      if (typeof broken === 'string') loud(`${broken.replace(/: run `.*$/, '')}: fetching it again`);
      else if (m && m.consoleModules === undefined && consoleIsModular(broken.config))
        loud(`${name}: the cache lacks the virtio console modules the helper's channel needs: fetching it again`);
      else if (m && JSON.stringify(m.pinned) === JSON.stringify(pinned) && (!m.newerThanPin || allowNewer)) {
        info(`${name}: ${m.packages.map((p) => `${p.package}=${p.version}`).join(' ')} already in ${dest}`);
        // markers of older provisionings lack the image size that tells a truncated copy
        if (m.vmlinuzBytes === undefined) {
          writeFileSync(`${marker}.${process.pid}`, JSON.stringify({ ...m, vmlinuzBytes: statSync(join(dest, m.vmlinuz)).size }, null, 2) + '\n');
          renameSync(`${marker}.${process.pid}`, marker); // a run reading it meanwhile sees the old or the new, whole
        }
        continue;
      }
    }
    const { tmp, got, newer } = fetch(`kernel ${name}`, pin.packages, pin.series, 'arm64', allowNewer);
    try {
      const x = join(tmp, 'x');
      for (const g of got) run('dpkg', ['-x', g.deb, x]);
      const vmlinuz = find(x, (r) => /^boot\/vmlinuz-/.test(r) || /^usr\/lib\/modules\/[^/]+\/vmlinuz$/.test(r))
        ?? die(`kernel ${name}: no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz in ${got.map((g) => basename(g.deb)).join(', ')}`);
      const config = find(x, (r) => /^boot\/config-/.test(r) || /^usr\/lib\/modules\/[^/]+\/config$/.test(r));
      if (!config) loud(`kernel ${name}: the packages carry no config: page size and PA bits will come from the running kernel alone`);
      // The image and its config are kept, and the virtio console's modules where it is one: the
      // helper talks over it (a PL011 costs a guest exit per byte); the other modules are large.
      const fresh = `${dest}.new-${process.pid}`;
      rmSync(fresh, { recursive: true, force: true });
      mkdirSync(fresh, { recursive: true });
      copyFileSync(join(x, vmlinuz), join(fresh, 'vmlinuz'));
      if (config) copyFileSync(join(x, config), join(fresh, 'config'));
      const consoleModules = config && consoleIsModular(parseConfig(readFileSync(join(x, config), 'utf8'))) ? keepConsoleModules(name, x, fresh) : [];
      const m: KernelMarker = {
        name,
        suite: pin.suite,
        stable: pin.stable,
        pinned,
        packages: got.map(({ package: p, version, sha256 }) => ({ package: p, version, sha256 })),
        vmlinuz: 'vmlinuz',
        vmlinuzBytes: statSync(join(fresh, 'vmlinuz')).size,
        config: config ? 'config' : null,
        newerThanPin: newer,
        consoleModules,
      };
      writeFileSync(join(fresh, KERNEL_MARKER), JSON.stringify(m, null, 2) + '\n');
      rmSync(dest, { recursive: true, force: true });
      renameSync(fresh, dest);
      info(`${name}: unpacked into ${dest} (${statSync(join(dest, 'vmlinuz')).size} bytes, from ${vmlinuz})`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

function provisionEmulators(names: string[], allowNewer: boolean): void {
  const qdir = join(cacheDir(), 'qemu');
  mkdirSync(qdir, { recursive: true });
  const { emulators } = emulatorPins();
  for (const name of names) {
    const pin = emulators.find((e) => e.name === name) ?? die(`unknown emulator '${name}' (fixtures/emulators.json has: ${emulators.map((e) => e.name).join(', ')})`);
    const dest = join(qdir, name);
    const marker = join(dest, EMULATOR_MARKER);
    const usable = existsSync(marker) ? findEmulator(name) : 'absent';
    if (typeof usable === 'string' && usable !== 'absent') loud(`${usable.replace(/: run `.*$/, '')}: fetching it again`);
    if (typeof usable !== 'string') {
      const m = JSON.parse(readFileSync(marker, 'utf8')) as { pinned: unknown; binary: string };
      if (JSON.stringify(m.pinned) === JSON.stringify(pin.packages)) {
        info(`QEMU ${name}: already in ${dest}`);
        continue;
      }
    }
    const { tmp, got } = fetch(`QEMU ${name}`, pin.packages, undefined, 'amd64', allowNewer);
    try {
      const fresh = `${dest}.new-${process.pid}`;
      rmSync(fresh, { recursive: true, force: true });
      for (const g of got) run('dpkg', ['-x', g.deb, fresh]);
      const binary = 'usr/bin/qemu-system-aarch64';
      if (!existsSync(join(fresh, binary))) die(`QEMU ${name}: no ${binary} in the package`);
      const version = run(join(fresh, binary), ['--version']).split('\n')[0] ?? '';
      if (!version.includes(pin.version)) die(`QEMU ${name}: the binary says '${version}', the pin says ${pin.version} (missing shared libraries?)`);
      rmSync(join(fresh, 'usr', 'share'), { recursive: true, force: true });
      writeFileSync(join(fresh, EMULATOR_MARKER), JSON.stringify({ name, pinned: pin.packages, packages: got.map(({ deb: _d, ...p }) => p), binary, version }, null, 2) + '\n');
      rmSync(dest, { recursive: true, force: true });
      renameSync(fresh, dest);
      info(`QEMU ${name}: ${version} in ${dest}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

function select(arg: string, all: readonly string[], defaults: readonly string[], what: string): string[] {
  if (arg === 'all') return [...all];
  if (arg === 'none') return [];
  if (arg === 'ci' || arg === 'default') return [...defaults];
  const names = arg.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) if (!all.includes(n)) die(`unknown ${what} '${n}' (known: ${all.join(', ')})`);
  return names;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const kernels = a.downloads ? select(a.kernels, kernelPins().map((k) => k.name), kernelPins().filter((k) => k.ci).map((k) => k.name), 'kernel') : [];
  const ep = emulatorPins();
  const emulators = a.downloads ? select(a.qemu, ep.emulators.map((e) => e.name), [ep.default], 'emulator') : [];
  await withCacheLock('provision', async () => {
    if (a.tools) {
      step('1. host tools: qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross');
      const tools = ['qemu-system-arm', 'gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross'];
      const missing = tools.filter((p) => {
        const v = installed(p);
        if (v) info(`${p}: installed (${v})`);
        return !v;
      });
      if (missing.length > 0) {
        needRoot(`installing ${missing.join(' ')}`);
        aptUpdate();
        info(`apt-get install ${missing.join(' ')}`);
        run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing]);
      }
    }
    if (kernels.length + emulators.length > 0 || a.testvm.length > 0) {
      step('2. apt sources for the pins');
      ensureArm64();
      const need = new Map<string, Set<string>>();
      const add = (suite: string, arch: string): void => void need.set(suite, (need.get(suite) ?? new Set()).add(arch));
      // every pin's suite, not only the selected ones: one file that does not change between runs
      for (const k of kernelPins()) add(k.suite, 'arm64');
      for (const e of ep.emulators) add(e.suite, 'amd64');
      add(testVmPins().suite, 'arm64');
      ensureSources(need);
      step(`3. kernels (${kernels.join(', ') || 'none'}) -> ${join(cacheDir(), 'kernels')}`);
      provisionKernels(kernels, a.allowNewer);
      step(`4. emulators (QEMU ${emulators.join(', ') || 'none'}) -> ${join(cacheDir(), 'qemu')}`);
      provisionEmulators(emulators, a.allowNewer);
    }
    if (a.helper) {
      step('5. static aarch64 helper');
      execaSync('bash', [join(KVM_DIR, 'helper', 'build.sh')], { stdio: 'inherit' });
    }
    if (a.testvm.length > 0) {
      step(`6. test VM: images ${a.testvm.join(', ')}, network modules of ${kernels.join(', ') || 'no kernel'} -> ${join(cacheDir(), 'testvm')}`);
      const first = testVmPins().packages[0];
      if (first && !madison(first.package, 'arm64').includes(first.version)) aptUpdate();
      for (const image of a.testvm) provisionImage(image, info);
      for (const k of kernels) {
        try {
          provisionKernelModules(k, info);
        } catch (e) {
          // one kernel the test VM cannot boot with a network does not stop the others
          loud(`test VM: kernel ${k}: ${e instanceof Error ? e.message : String(e)}: the test VM cannot use this kernel`);
        }
      }
    }
  });
  step(`done (cache: ${cacheDir()})`);
}

main().catch((e: unknown) => {
  process.stderr.write(`\nprovision: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof ProvisionError ? 1 : 2);
});
