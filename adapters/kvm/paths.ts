// Where the adapter finds what `npm run provision` made: the kernel cache and the helper build.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KVM_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(KVM_DIR, '..', '..');
export const HELPER_PATH = join(KVM_DIR, 'helper', 'build', 's2c-helper');

export type KernelName = '6.1' | '6.12';
export const KERNEL_NAMES: readonly KernelName[] = ['6.1', '6.12'];

export function cacheDir(): string {
  return process.env['S2CONFORM_CACHE'] ?? join(homedir(), '.cache', 's2conform');
}

export interface KernelInfo {
  readonly name: KernelName;
  readonly dir: string;
  readonly vmlinuz: string;
  readonly package: string;
  readonly version: string;
  readonly sha256: string;
  /** boot/config-* as key → value (CONFIG_FOO → "y" | "m" | "48" ...) */
  readonly config: ReadonlyMap<string, string>;
  /** true when --allow-newer replaced the pinned package */
  readonly newerThanPin: boolean;
}

/** The unpacked kernel, or a reason it is not there. */
export function findKernel(name: KernelName): KernelInfo | string {
  const dir = join(cacheDir(), 'kernels', name);
  const marker = join(dir, '.s2conform-kernel');
  if (!existsSync(marker)) return `kernel ${name} is not provisioned (no ${marker}): run \`npm run provision\``;
  const kv = new Map<string, string>();
  for (const line of readFileSync(marker, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  const vmlinuz = kv.get('vmlinuz');
  const config = kv.get('config');
  if (!vmlinuz || !config) return `kernel ${name}: ${marker} is incomplete: run \`npm run provision\``;
  const cfg = new Map<string, string>();
  for (const line of readFileSync(join(dir, config), 'utf8').split('\n')) {
    const m = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (m && m[1] !== undefined && m[2] !== undefined) cfg.set(m[1], m[2].replace(/^"|"$/g, ''));
  }
  return {
    name,
    dir,
    vmlinuz: join(dir, vmlinuz),
    package: kv.get('package') ?? '?',
    version: kv.get('version') ?? '?',
    sha256: kv.get('sha256') ?? '?',
    config: cfg,
    newerThanPin: (kv.get('pinned') ?? '').startsWith('NEWER-THAN:'),
  };
}

/** Why the QEMU targets cannot run here, or undefined when kernels and helper are provisioned. */
export function notProvisioned(kernels: readonly KernelName[] = KERNEL_NAMES): string | undefined {
  if (!existsSync(HELPER_PATH)) return `helper not built (${HELPER_PATH}): run \`npm run provision\``;
  for (const k of kernels) {
    const r = findKernel(k);
    if (typeof r === 'string') return r;
  }
  return undefined;
}
