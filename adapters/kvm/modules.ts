// Kernel modules out of Debian's packages, for a guest with no module tools: which a set of modules
// needs (from each module's .modinfo: Debian ships no modules.dep, depmod makes it at install), in
// insmod order, uncompressed. The test VM takes its network from here (testvm/provision.ts), the
// helper's initramfs the virtio console of kernels that build it as a module (scripts/provision.ts).

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';

/** The `depends=` of a module's .modinfo section (Debian ships no modules.dep: depmod makes it at install). */
export function modinfoDepends(ko: Uint8Array): string[] {
  const text = Buffer.from(ko).toString('latin1');
  const at = text.indexOf('\0depends=');
  if (at < 0) return [];
  const end = text.indexOf('\0', at + 1);
  return text
    .slice(at + 9, end)
    .split(',')
    .filter((x) => x);
}

/** `names` and the modules they depend on, in insmod order; a name with no module file is built in. */
export function loadOrder(names: readonly string[], files: ReadonlyMap<string, string>, read: (file: string) => Uint8Array): string[] {
  const out: string[] = [];
  const visit = (n: string): void => {
    const f = files.get(n);
    if (!f || out.includes(f)) return;
    for (const d of modinfoDepends(read(f))) visit(d);
    out.push(f);
  };
  for (const n of names) visit(n);
  return out;
}

export function modulesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) out.set(e.name.replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_'), join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

export function unpackModule(file: string): Uint8Array {
  if (file.endsWith('.xz')) return execaSync('xz', ['-dc', file], { encoding: 'buffer', stripFinalNewline: false }).stdout;
  if (file.endsWith('.zst')) return execaSync('zstd', ['-dc', file], { encoding: 'buffer', stripFinalNewline: false }).stdout;
  if (file.endsWith('.gz')) return execaSync('gzip', ['-dc', file], { encoding: 'buffer', stripFinalNewline: false }).stdout;
  return readFileSync(file);
}
