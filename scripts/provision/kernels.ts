// Step 3: the pinned kernels (fixtures/kernels.json), each unpacked into $S2CONFORM_CACHE/kernels/<name>/
// with only its image, its config and, where the kernel builds it as a module, the virtio console.

import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadOrder, modulesUnder, unpackModule } from '../../adapters/kvm/modules.ts';
import {
  CONSOLE_MODULES,
  KERNEL_MARKER,
  cacheDir,
  consoleIsModular,
  findKernel,
  parseConfig,
  type KernelMarker,
} from '../../adapters/kvm/paths.ts';
import { kernelPins } from '../../adapters/kvm/pins.ts';
import { fetch } from './apt.ts';
import { die, info, loud, run } from './shell.ts';

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
    loud(
      `kernel ${name}: builds the virtio console as a module but its packages carry no lib/modules/<release>/kernel: the helper talks over the PL011 (slow)`,
    );
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

export function provisionKernels(names: string[], allowNewer: boolean): void {
  const kdir = join(cacheDir(), 'kernels');
  mkdirSync(kdir, { recursive: true });
  for (const name of names) {
    const pin =
      kernelPins().find((k) => k.name === name) ??
      die(
        `unknown kernel '${name}' (fixtures/kernels.json has: ${kernelPins()
          .map((k) => k.name)
          .join(', ')})`,
      );
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
          writeFileSync(
            `${marker}.${process.pid}`,
            `${JSON.stringify({ ...m, vmlinuzBytes: statSync(join(dest, m.vmlinuz)).size }, null, 2)}\n`,
          );
          renameSync(`${marker}.${process.pid}`, marker); // a run reading it meanwhile sees the old or the new, whole
        }
        continue;
      }
    }
    const { tmp, got, newer } = fetch(`kernel ${name}`, pin.packages, pin.series, 'arm64', allowNewer);
    try {
      const x = join(tmp, 'x');
      for (const g of got) run('dpkg', ['-x', g.deb, x]);
      const vmlinuz =
        find(x, (r) => /^boot\/vmlinuz-/.test(r) || /^usr\/lib\/modules\/[^/]+\/vmlinuz$/.test(r)) ??
        die(`kernel ${name}: no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz in ${got.map((g) => basename(g.deb)).join(', ')}`);
      const config = find(x, (r) => /^boot\/config-/.test(r) || /^usr\/lib\/modules\/[^/]+\/config$/.test(r));
      if (!config) loud(`kernel ${name}: the packages carry no config: page size and PA bits will come from the running kernel alone`);
      // The image and its config are kept, and the virtio console's modules where it is one: the
      // helper talks over it (a PL011 costs a guest exit per byte); the other modules are large.
      const fresh = `${dest}.new-${process.pid}`;
      rmSync(fresh, { recursive: true, force: true });
      mkdirSync(fresh, { recursive: true });
      copyFileSync(join(x, vmlinuz), join(fresh, 'vmlinuz'));
      if (config) copyFileSync(join(x, config), join(fresh, 'config'));
      const consoleModules =
        config && consoleIsModular(parseConfig(readFileSync(join(x, config), 'utf8'))) ? keepConsoleModules(name, x, fresh) : [];
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
      writeFileSync(join(fresh, KERNEL_MARKER), `${JSON.stringify(m, null, 2)}\n`);
      rmSync(dest, { recursive: true, force: true });
      renameSync(fresh, dest);
      info(`${name}: unpacked into ${dest} (${statSync(join(dest, 'vmlinuz')).size} bytes, from ${vmlinuz})`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}
