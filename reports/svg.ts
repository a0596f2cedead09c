// The IPA space of one abort-family case, as an inline SVG on a log2 axis:
// harness and memslots, MMIO (the rest of [0, 2^N)), external abort [2^N, 2^L),
// address size fault [2^L, 2^P), the CPU's stage-1 fault beyond 2^P, and the
// counterexample's address marked. N is the VM's IPA size, L the host's IPA
// limit under the profile (KVM_CAP_ARM_VM_IPA_SIZE), P the PARange's bits.

import { parangeToPhysShift, type Granule } from '../arch/host.ts';
import { HARNESS_CODE_SIZE } from '../core/cases.ts';
import type { Json } from '../core/json.ts';
import type { HostConfig } from '../core/target.ts';
import { ipaLimit } from '../oracles/ipaLimit.ts';
import { getProfile } from '../oracles/profiles.ts';
import { escapeMarkup } from './escape.ts';

const W = 760;
const M = 24; // left and right margin
const BAR_Y = 46;
const BAR_H = 34;
const BITS = 64;
const DEFAULT_IPA_BITS = 40; // type 0: KVM_VM_TYPE_ARM_IPA_SIZE_DEFAULT

export interface IpaSpace {
  readonly ipa: bigint;
  readonly n: number;
  readonly l: number;
  readonly p: number;
  readonly slots: readonly { readonly start: bigint; readonly size: bigint }[];
}

type Obj = { readonly [k: string]: Json };

function obj(v: Json | undefined): Obj | undefined {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function big(v: Json | undefined): bigint | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return BigInt(v);
  return undefined;
}

function num(v: Json | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** The boundaries of an access case (core/cases.ts AccessCase, as JSON); undefined if it is not one. */
export function ipaSpaceOf(counterexample: Json | undefined, profile: string, target: Json): IpaSpace | undefined {
  const c = obj(counterexample);
  const h = obj(c?.['host']);
  const ipa = big(obj(c?.['access'])?.['ipa']);
  const ipaBits = num(c?.['ipaBits']);
  const parange = num(h?.['parange']);
  const kernelPaBits = num(h?.['kernelPaBits']);
  if (!c || !h || ipa === undefined || ipaBits === undefined || parange === undefined || kernelPaBits === undefined) return undefined;
  const p = parangeToPhysShift(parange, kernelPaBits);
  const prof = getProfile(profile);
  const host: HostConfig = {
    parange,
    granule: (num(h['granule']) ?? 4) as Granule,
    lpa2: h['lpa2'] === true,
    kernelPaBits: kernelPaBits === 52 ? 52 : 48,
    vaBits: num(h['vaBits']) ?? 48,
    mode: h['mode'] === 'nvhe' || h['mode'] === 'protected' ? h['mode'] : 'vhe',
  };
  const l = prof ? ipaLimit(host, prof) : (num(obj(target)?.['ipaLimit']) ?? p);
  const slots: { start: bigint; size: bigint }[] = [];
  const raw = c['slots'];
  for (const s of Array.isArray(raw) ? raw : []) {
    const start = big(obj(s)?.['guestPhysAddr']);
    const size = big(obj(s)?.['memorySize']);
    if (start !== undefined && size !== undefined && size > 0n) slots.push({ start, size });
  }
  return { ipa, n: ipaBits === 0 ? DEFAULT_IPA_BITS : ipaBits, l, p, slots };
}

/** log2 of a non-negative bigint (0 for 0 and 1), precise enough to draw. */
export function log2(v: bigint): number {
  if (v <= 1n) return 0;
  const len = v.toString(2).length;
  const drop = Math.max(0, len - 53);
  return Math.log2(Number(v >> BigInt(drop))) + drop;
}

function x(bits: number): number {
  return M + (Math.min(Math.max(bits, 0), BITS) / BITS) * (W - 2 * M);
}

const REGION = {
  harness: { fill: '#9e9e9e', label: 'harness' },
  memslot: { fill: '#43a047', label: 'memslots' },
  mmio: { fill: '#1e88e5', label: 'MMIO (KVM_EXIT_MMIO)' },
  extabt: { fill: '#fb8c00', label: 'external abort' },
  asf: { fill: '#e53935', label: 'address size fault' },
  stage1: { fill: '#8e24aa', label: 'stage-1 fault (CPU, beyond PARange)' },
} as const;

type RegionKind = keyof typeof REGION;

function rect(kind: RegionKind, from: number, to: number, range: string): string {
  const x0 = x(from);
  const w = Math.max(2, x(to) - x0);
  const title = `${REGION[kind].label} ${range}`;
  return `<rect data-region="${kind}" x="${x0.toFixed(1)}" y="${BAR_Y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${REGION[kind].fill}"><title>${escapeMarkup(title)}</title></rect>`;
}

function pow(bits: number): string {
  return `2^${bits}`;
}

export function renderIpaSpaceSvg(s: IpaSpace): string {
  const { n, l, p, ipa } = s;
  const parts: string[] = [];
  const legend: [RegionKind, string][] = [];
  const add = (kind: RegionKind, from: number, to: number, range: string) => {
    if (to <= from) return;
    parts.push(rect(kind, from, to, range));
    legend.push([kind, range]);
  };
  add('mmio', 0, n, `[0, ${pow(n)})`);
  add('extabt', n, l, `[${pow(n)}, ${pow(l)})`);
  add('asf', Math.max(n, l), p, `[${pow(Math.max(n, l))}, ${pow(p)})`);
  add('stage1', p, BITS, `[${pow(p)}, ${pow(BITS)})`);
  // backed memory on top of MMIO (only below 2^N is it mapped)
  parts.push(rect('harness', 0, log2(HARNESS_CODE_SIZE), `[0, 0x${HARNESS_CODE_SIZE.toString(16)})`));
  legend.push(['harness', `[0, 0x${HARNESS_CODE_SIZE.toString(16)})`]);
  for (const sl of s.slots) {
    const range = `[0x${sl.start.toString(16)}, 0x${(sl.start + sl.size).toString(16)})`;
    parts.push(rect('memslot', log2(sl.start), log2(sl.start + sl.size), range));
  }
  if (s.slots.length > 0) legend.push(['memslot', s.slots.length === 1 ? '1 slot' : `${s.slots.length} slots`]);

  // axis: a tick every 8 bits, and the N, L, P boundaries above the bar
  for (let b = 0; b <= BITS; b += 8) {
    parts.push(`<line x1="${x(b).toFixed(1)}" y1="${BAR_Y + BAR_H}" x2="${x(b).toFixed(1)}" y2="${BAR_Y + BAR_H + 5}" stroke="#555"/>`);
    parts.push(`<text x="${x(b).toFixed(1)}" y="${BAR_Y + BAR_H + 17}" text-anchor="middle" font-size="10">${pow(b)}</text>`);
  }
  const marks: [string, number][] = [
    ['N', n],
    ['L', l],
    ['P', p],
  ];
  const seen = new Map<number, string[]>();
  for (const [k, b] of marks) seen.set(b, [...(seen.get(b) ?? []), k]);
  for (const [b, ks] of seen) {
    parts.push(`<line x1="${x(b).toFixed(1)}" y1="${BAR_Y - 6}" x2="${x(b).toFixed(1)}" y2="${BAR_Y + BAR_H}" stroke="#000" stroke-dasharray="3,2"/>`);
    parts.push(`<text x="${x(b).toFixed(1)}" y="${BAR_Y - 9}" text-anchor="middle" font-size="10">${escapeMarkup(ks.join('=') + '=' + String(b))}</text>`);
  }

  // the counterexample's address
  const ax = x(log2(ipa));
  const label = `ipa 0x${ipa.toString(16)} (2^${log2(ipa).toFixed(2)})`;
  const anchor = ax > W * 0.75 ? 'end' : ax < W * 0.25 ? 'start' : 'middle';
  parts.push(
    `<g data-marker="ipa" data-ipa="0x${ipa.toString(16)}"><line x1="${ax.toFixed(1)}" y1="14" x2="${ax.toFixed(1)}" y2="${BAR_Y + BAR_H + 2}" stroke="#000" stroke-width="2"/>` +
      `<path d="M${(ax - 5).toFixed(1)},14 L${(ax + 5).toFixed(1)},14 L${ax.toFixed(1)},22 Z" fill="#000"/>` +
      `<text x="${ax.toFixed(1)}" y="10" text-anchor="${anchor}" font-size="11" font-weight="bold">${escapeMarkup(label)}</text></g>`,
  );

  // legend
  let ly = BAR_Y + BAR_H + 34;
  for (const [kind, range] of legend) {
    parts.push(`<rect x="${M}" y="${ly - 9}" width="10" height="10" fill="${REGION[kind].fill}"/>`);
    parts.push(`<text x="${M + 16}" y="${ly}" font-size="11">${escapeMarkup(`${REGION[kind].label} ${range}`)}</text>`);
    ly += 15;
  }
  const h = ly;
  const desc = `IPA space on a log2 axis: N=${n}, L=${l}, P=${p}; counterexample ${label}`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="ipa-space" role="img" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" aria-label="${escapeMarkup(desc)}" font-family="sans-serif">` +
    `<title>${escapeMarkup(desc)}</title>${parts.join('')}</svg>`
  );
}
