// Step 4: the pinned emulators (fixtures/emulators.json), each unpacked into $S2CONFORM_CACHE/qemu/<name>/.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMULATOR_MARKER, cacheDir, findEmulator } from '../../adapters/kvm/paths.ts';
import { emulatorPins } from '../../adapters/kvm/pins.ts';
import { fetch } from './apt.ts';
import { die, info, loud, run } from './shell.ts';

export function provisionEmulators(names: string[], allowNewer: boolean): void {
  const qdir = join(cacheDir(), 'qemu');
  mkdirSync(qdir, { recursive: true });
  const { emulators } = emulatorPins();
  for (const name of names) {
    const pin =
      emulators.find((e) => e.name === name) ??
      die(`unknown emulator '${name}' (fixtures/emulators.json has: ${emulators.map((e) => e.name).join(', ')})`);
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
      if (!version.includes(pin.version))
        die(`QEMU ${name}: the binary says '${version}', the pin says ${pin.version} (missing shared libraries?)`);
      rmSync(join(fresh, 'usr', 'share'), { recursive: true, force: true });
      writeFileSync(
        join(fresh, EMULATOR_MARKER),
        `${JSON.stringify({ name, pinned: pin.packages, packages: got.map(({ deb: _d, ...p }) => p), binary, version }, null, 2)}\n`,
      );
      rmSync(dest, { recursive: true, force: true });
      renameSync(fresh, dest);
      info(`QEMU ${name}: ${version} in ${dest}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}
