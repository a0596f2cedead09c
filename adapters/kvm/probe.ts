// The helper's probe and what follows from it: the running kernel's release, its page size, PA and VA
// bits (checked against its config), and the kernel record a report carries.

import { KVM_MODES, granuleOfPageSize, type Granule, type KvmMode } from '../../arch/host.ts';
import { TargetUnusable, type KernelRecord } from '../../core/target.ts';
import { wHex, wNum, wOptNum, wStr, type Wire } from './channel.ts';
import { configPageSize, type KernelInfo } from './paths.ts';
import { defined } from '../../core/object.ts';

/** What the helper's probe returned. */
export interface Probe {
  readonly api: number;
  readonly ipaLimit: number;
  readonly release: string;
  readonly machine: string;
  readonly midr: bigint | undefined;
  readonly mode: KvmMode | undefined;
  readonly parange: number | undefined;
  readonly caps: Readonly<Record<number, number>>;
  readonly kmsg: readonly string[];
  /** getpagesize() in the guest: the running kernel's page size */
  readonly pageSize: number | undefined;
  /** /proc/version: carries the upstream stable release where the release string does not */
  readonly procVersion: string | undefined;
}

export function parseProbe(w: Wire): Probe {
  const caps: Record<number, number> = {};
  const c = w['caps'];
  if (typeof c === 'object' && c !== null) for (const [k, v] of Object.entries(c)) if (typeof v === 'number') caps[Number(k)] = v;
  const mode = KVM_MODES.find((m) => m === w['mode']);
  const kmsg = Array.isArray(w['kmsg']) ? w['kmsg'].filter((x): x is string => typeof x === 'string') : [];
  return {
    api: wNum(w, 'api'),
    ipaLimit: wNum(w, 'ipaLimit'),
    release: wStr(w, 'release'),
    machine: wStr(w, 'machine'),
    midr: typeof w['midr'] === 'string' ? wHex(w, 'midr') : undefined,
    mode,
    parange: wOptNum(w, 'parange'),
    caps,
    kmsg,
    pageSize: wOptNum(w, 'pageSize'),
    procVersion: typeof w['procVersion'] === 'string' ? w['procVersion'] : undefined,
  };
}

/**
 * The upstream release the running kernel builds: Debian's release string (5.10.0-32-cloud-arm64)
 * lacks the sublevel, its /proc/version says "Debian 5.10.223-1"; other kernels carry it in the
 * release itself (6.12.95, 7.3.0-rc7).
 */
export function stableRelease(p: Pick<Probe, 'release' | 'procVersion'>): string | undefined {
  const deb = /#\d+ [A-Z_ ]*\bDebian (\d+\.\d+\.\d+)/.exec(p.procVersion ?? ''); // "#1 SMP Debian 5.10.223-1", not gcc's "(Debian 10.2.1-6)"
  if (deb?.[1]) return deb[1];
  const own = /^(\d+\.\d+\.\d+)/.exec(p.release);
  if (own?.[1] && !/^\d+\.\d+\.0-\d+-/.test(p.release)) return own[1]; // 5.10.0-32-…: Debian's ABI name, not a sublevel
  return undefined;
}

export interface KernelGeometry {
  readonly granule: Granule;
  readonly kernelPaBits: 48 | 52;
  readonly vaBits: number;
}

/**
 * Page size, PA and VA bits: from the kernel's config where there is one, checked against what the
 * running kernel reports (getpagesize()); without a config, from the running kernel alone.
 */
export function kernelGeometry(
  config: ReadonlyMap<string, string>,
  probe: Pick<Probe, 'pageSize' | 'ipaLimit'>,
  from: string,
): KernelGeometry {
  const cfgPage = configPageSize(config);
  if (cfgPage !== undefined && probe.pageSize !== undefined && cfgPage !== probe.pageSize)
    throw new TargetUnusable(
      `the kernel's config (${from}) says ${cfgPage}-byte pages but the running kernel has ${probe.pageSize}: wrong --kernel-config?`,
    );
  const page = probe.pageSize ?? cfgPage;
  const granule = page === undefined ? undefined : granuleOfPageSize(page);
  if (granule === undefined)
    throw new TargetUnusable(`cannot tell the kernel's page size (config: ${from}; the helper reported ${String(probe.pageSize)})`);
  const pa = config.get('CONFIG_ARM64_PA_BITS');
  const kernelPaBits = pa === '52' ? 52 : pa === '48' ? 48 : probe.ipaLimit > 48 ? 52 : 48;
  const va = Number(config.get('CONFIG_ARM64_VA_BITS'));
  return { granule, kernelPaBits, vaBits: Number.isInteger(va) && va > 0 ? va : kernelPaBits };
}

export function kernelRecord(k: KernelInfo, probe: Probe): KernelRecord {
  return {
    name: k.name,
    ...(k.source.kind === 'debian'
      ? { suite: k.source.suite, packages: k.source.packages }
      : { path: k.source.path, sha256: k.source.sha256 }),
    ...(k.configFile ? { config: k.configFile } : {}),
    ...defined({ pageSize: probe.pageSize, procVersion: probe.procVersion }),
    ...(k.newerThanPin ? { newerThanPin: true } : {}),
  };
}
