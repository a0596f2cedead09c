// The pinned kernels and emulators (fixtures/kernels.json, fixtures/emulators.json) as typed data.
// Adding a kernel or an emulator is an entry there; nothing here names one.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../core/paths.ts';

export interface PinnedPackage {
  readonly package: string;
  readonly version: string;
  readonly sha256: string;
}

export interface KernelPin {
  readonly name: string;
  readonly suite: string;
  /** the upstream release the package builds, e.g. "5.10.223" */
  readonly stable: string;
  readonly pageSize: number;
  /** fetched by a plain `npm run provision` */
  readonly ci: boolean;
  readonly packages: readonly PinnedPackage[];
  /** per package: what --allow-newer may take instead */
  readonly series: readonly string[];
}

export interface EmulatorPin {
  readonly name: string;
  readonly suite: string;
  readonly version: string;
  readonly packages: readonly PinnedPackage[];
}

export class PinError extends Error {
  override readonly name = 'PinError';
}

function obj(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PinError(`${at}: must be an object`);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, k: string, at: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '') throw new PinError(`${at}: field '${k}' must be a non-empty string`);
  return v;
}

function packages(v: unknown, at: string): PinnedPackage[] {
  if (!Array.isArray(v) || v.length === 0) throw new PinError(`${at}: field 'packages' must be a non-empty array`);
  return v.map((p, i) => {
    const o = obj(p, `${at}.packages[${i}]`);
    const sha256 = str(o, 'sha256', `${at}.packages[${i}]`);
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new PinError(`${at}.packages[${i}]: sha256 must be 64 hex digits`);
    return { package: str(o, 'package', `${at}.packages[${i}]`), version: str(o, 'version', `${at}.packages[${i}]`), sha256 };
  });
}

export const KERNEL_PINS_FILE = join(REPO_ROOT, 'fixtures', 'kernels.json');
export const EMULATOR_PINS_FILE = join(REPO_ROOT, 'fixtures', 'emulators.json');

export function parseKernelPins(text: string, file = KERNEL_PINS_FILE): KernelPin[] {
  const doc = obj(JSON.parse(text), file);
  const ks = obj(doc['kernels'], `${file}: kernels`);
  return Object.entries(ks).map(([name, v]) => {
    const at = `${file}: kernels.${name}`;
    if (!/^[0-9]+\.[0-9]+(-[a-z0-9]+)?$/.test(name)) throw new PinError(`${at}: a kernel name is <major>.<minor>[-<flavour>]`);
    const o = obj(v, at);
    const stable = str(o, 'stable', at);
    if (!stable.startsWith(`${name.replace(/-.*$/, '')}.`)) throw new PinError(`${at}: stable '${stable}' is not of series ${name}`);
    const pageSize = o['pageSize'];
    if (pageSize !== 4096 && pageSize !== 16384 && pageSize !== 65536) throw new PinError(`${at}: pageSize must be 4096, 16384 or 65536`);
    const pk = packages(o['packages'], at);
    const series = o['series'];
    if (!Array.isArray(series) || series.length !== pk.length || !series.every((s) => typeof s === 'string'))
      throw new PinError(`${at}: field 'series' must hold one regular expression per package`);
    return { name, suite: str(o, 'suite', at), stable, pageSize, ci: o['ci'] === true, packages: pk, series: series as string[] };
  });
}

export function parseEmulatorPins(
  text: string,
  file = EMULATOR_PINS_FILE,
): { readonly default: string; readonly emulators: EmulatorPin[] } {
  const doc = obj(JSON.parse(text), file);
  const es = obj(doc['emulators'], `${file}: emulators`);
  const emulators = Object.entries(es).map(([name, v]) => {
    const at = `${file}: emulators.${name}`;
    const o = obj(v, at);
    return { name, suite: str(o, 'suite', at), version: str(o, 'version', at), packages: packages(o['packages'], at) };
  });
  const def = str(doc, 'default', file);
  if (!emulators.some((e) => e.name === def)) throw new PinError(`${file}: default '${def}' is not an emulator`);
  return { default: def, emulators };
}

let kernelCache: KernelPin[] | undefined;
export function kernelPins(): KernelPin[] {
  kernelCache ??= parseKernelPins(readFileSync(process.env['S2CONFORM_KERNEL_PINS'] ?? KERNEL_PINS_FILE, 'utf8'));
  return kernelCache;
}

let emulatorCache: ReturnType<typeof parseEmulatorPins> | undefined;
export function emulatorPins(): ReturnType<typeof parseEmulatorPins> {
  emulatorCache ??= parseEmulatorPins(readFileSync(EMULATOR_PINS_FILE, 'utf8'));
  return emulatorCache;
}
