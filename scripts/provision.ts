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
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KVM_DIR, cacheDir } from '../adapters/kvm/paths.ts';
import { emulatorPins, kernelPins } from '../adapters/kvm/pins.ts';
import { withCacheLock } from '../adapters/kvm/lock.ts';
import { TESTVM_IMAGES, testVmPins, type TestVmImage } from '../testvm/pins.ts';
import { provisionImage, provisionKernelModules } from '../testvm/provision.ts';
import { aptUpdate, ensureArm64, ensureSources, madison } from './provision/apt.ts';
import { provisionEmulators } from './provision/emulators.ts';
import { provisionKernels } from './provision/kernels.ts';
import { ProvisionError, die, info, installed, loud, needRoot, run, step } from './provision/shell.ts';

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
  const a: Args = {
    kernels: 'ci',
    qemu: 'default',
    allowNewer: process.env['S2CONFORM_ALLOW_NEWER'] === '1',
    tools: true,
    downloads: true,
    helper: true,
    testvm: [],
  };
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
      a.testvm =
        v === 'none'
          ? []
          : v
              .split(',')
              .map(
                (w) => TESTVM_IMAGES.find((i) => i === w) ?? die(`provision: --testvm takes none or a list of ${TESTVM_IMAGES.join(', ')}`),
              );
    } else if (x === '--kernels-only') a.helper = false;
    else if (x === '--helper-only') {
      a.downloads = false;
      a.tools = false;
    } else if (x === '--no-tools') a.tools = false;
    else if (x === '-h' || x === '--help') {
      const src = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
      process.stdout.write(
        `${src
          .slice(
            0,
            src.findIndex((l) => !l.startsWith('//')),
          )
          .map((l) => l.replace(/^\/\/ ?/, ''))
          .join('\n')}\n`,
      );
      process.exit(0);
    } else die(`provision: unknown argument '${x}' (try --help)`);
  }
  return a;
}

function select(arg: string, all: readonly string[], defaults: readonly string[], what: string): string[] {
  if (arg === 'all') return [...all];
  if (arg === 'none') return [];
  if (arg === 'ci' || arg === 'default') return [...defaults];
  const names = arg
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const n of names) if (!all.includes(n)) die(`unknown ${what} '${n}' (known: ${all.join(', ')})`);
  return names;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const kernels = a.downloads
    ? select(
        a.kernels,
        kernelPins().map((k) => k.name),
        kernelPins()
          .filter((k) => k.ci)
          .map((k) => k.name),
        'kernel',
      )
    : [];
  const ep = emulatorPins();
  const emulators = a.downloads
    ? select(
        a.qemu,
        ep.emulators.map((e) => e.name),
        [ep.default],
        'emulator',
      )
    : [];
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
      step(
        `6. test VM: images ${a.testvm.join(', ')}, network modules of ${kernels.join(', ') || 'no kernel'} -> ${join(cacheDir(), 'testvm')}`,
      );
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
