// The HTML conformance matrix, as a person's browser shows it. Loaded
// in headless Chromium (Debian's `chromium`, driven by playwright-core): cells
// read back, a failing cell opened, its diff, decoded ESR, replay and IPA plot
// checked, and nothing fetched from anywhere.

import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Summary } from '../core/result.ts';
import { ipaSpaceOf } from '../reports/svg.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 's2conform.mjs');
const cli = (...args: string[]) => execa('node', [BIN, ...args], { reject: false, env: { NO_COLOR: '' } });
const tmp = () => mkdtempSync(join(tmpdir(), 's2c-html-'));
const load = (dir: string): Summary => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;

const CANDIDATES = [process.env['CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);

/** Chromium's path, installing Debian's package when it is missing and we may; else why not. */
async function findChromium(): Promise<{ path?: string; why?: string }> {
  const found = () => CANDIDATES.find((p) => existsSync(p));
  if (found()) return { path: found() };
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get'))
    return { why: 'chromium is not installed and apt-get cannot be run here (not root or not Debian)' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = await execa('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq chromium'], { reject: false, env, timeout: 540_000 });
  if (found()) return { path: found() };
  return { why: `chromium could not be installed: apt-get exited ${r.exitCode}: ${r.stderr.split('\n').slice(-2).join(' ')}` };
}

let chromiumPath: string | undefined;
let skipWhy: string | undefined;
let context: BrowserContext | undefined;
const runs: Record<'mainline' | 'pre518' | 'seed004', string> = { mainline: '', pre518: '', seed004: '' };
let merged = '';

beforeAll(async () => {
  const c = await findChromium();
  chromiumPath = c.path;
  skipWhy = c.why;
  runs.mainline = tmp();
  runs.pre518 = tmp();
  runs.seed004 = tmp();
  await Promise.all([
    cli('run', '--seed', '11', '--report', runs.mainline, '--quiet'),
    cli('run', '--profile', 'pre-5.18', '--seed', '11', '--report', runs.pre518, '--quiet'),
    cli('run', '--profile', 'seed-004-v1', '--family', 'abort', '--seed', '1', '--report', runs.seed004, '--quiet'),
  ]);
  merged = join(tmp(), 'matrix.html');
  const r = await cli(
    'report',
    join(runs.mainline, 'summary.json'),
    join(runs.pre518, 'summary.json'),
    join(runs.seed004, 'summary.json'),
    '--out',
    merged,
  );
  expect(r.exitCode, r.stderr).toBe(0);
  if (!chromiumPath) return;
  context = await chromium.launchPersistentContext(tmp(), {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 600_000);

afterAll(async () => {
  await context?.close();
});

async function open(file: string): Promise<{ page: Page; requests: string[] }> {
  if (!context) throw new Error('no browser');
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href);
  return { page, requests };
}

describe('s2conform report (CLI)', () => {
  it('merges runs into one page and says where it is', async () => {
    expect(existsSync(merged)).toBe(true);
    const html = readFileSync(merged, 'utf8');
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it.each([[['report']], [['report', '/nonexistent/summary.json']], [['report', BIN]], [['report', '--bogus', 'x']]])(
    '%j: exit 2, one line on stderr',
    async (args) => {
      const r = await cli(...args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    },
  );

  it('--help lists every command and flag', async () => {
    const r = await cli('report', '--help');
    expect(r.exitCode).toBe(0);
    for (const f of [
      'run',
      'report',
      '<summary.json...>',
      '--out',
      '--quiet',
      '--report',
      'ktap.txt',
      'junit.xml',
      'index.html',
      'NO_COLOR',
    ])
      expect(r.stdout).toContain(f);
  });
});

describe('the matrix in headless Chromium', () => {
  it("has a row per property and a column per run, each cell the run's verdict", async (ctx) => {
    if (!context) ctx.skip(skipWhy ?? 'no browser');
    const { page, requests } = await open(merged);
    const heads = await page.locator('table.matrix thead th').allInnerTexts();
    expect(heads.slice(1)).toEqual(['sim · mainline', 'sim · pre-5.18', 'sim · seed-004-v1']);
    const cells = await page
      .locator('td[data-property]')
      .evaluateAll((tds) =>
        tds.map((td) => ({ p: td.getAttribute('data-property'), t: td.getAttribute('data-target'), v: td.getAttribute('data-verdict') })),
      );
    const want = (
      [
        ['sim · mainline', load(runs.mainline)],
        ['sim · pre-5.18', load(runs.pre518)],
        ['sim · seed-004-v1', load(runs.seed004)],
      ] as const
    ).flatMap(([t, s]) => s.properties.map((r) => ({ p: `${r.family}/${r.name}`, t, v: r.verdict })));
    const key = (c: { p: string | null; t: string | null }) => `${c.t}|${c.p}`;
    expect([...cells].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...want].sort((a, b) => key(a).localeCompare(key(b))));
    // rows the seed-004 run did not have are empty cells, not verdicts
    expect(await page.locator('tr[data-row="vm-create/type-word"] td[data-verdict="none"]').count()).toBe(1);
    expect(requests).toEqual([pathToFileURL(merged).href]);
    await page.close();
  });

  it('opens a failing cell on the counterexample: inputs, diff with ESR decoded, profile, replay, IPA plot', async (ctx) => {
    if (!context) ctx.skip(skipWhy ?? 'no browser');
    const s = load(runs.seed004);
    const failed = s.properties.find((r) => r.verdict === 'fail' && r.diff?.some((d) => d.decoded && Object.keys(d.decoded).length > 0));
    expect(failed, 'seed-004-v1 has an abort failure whose ESR differs').toBeDefined();
    if (!failed) return;
    const { page } = await open(merged);
    const td = page.locator(`td[data-property="abort/${failed.name}"][data-target="sim · seed-004-v1"]`);
    const replay = td.locator('pre.replay');
    expect(await replay.isVisible()).toBe(false);
    await td.locator('summary').click();
    expect(await replay.isVisible()).toBe(true);
    expect((await replay.innerText()).trim()).toBe(failed.replay);
    expect(await td.locator('.profile').innerText()).toBe('seed-004-v1');
    expect(JSON.parse(await td.locator('pre.inputs').innerText())).toEqual(failed.counterexample);
    expect(JSON.parse(await td.locator('pre.expected').innerText())).toEqual(failed.expected);
    expect(JSON.parse(await td.locator('pre.actual').innerText())).toEqual(failed.actual);

    const fields = await td.locator('table.diff tr[data-field]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-field')));
    expect(fields).toEqual(failed.diff?.map((d) => d.path));
    const decoded = td.locator('table.decoded').first();
    const rows = await decoded.locator('tr').evaluateAll((trs) =>
      trs.slice(1).map((tr) => ({
        k: tr.querySelector('th')?.textContent,
        differs: tr.classList.contains('differs'),
        cells: [...tr.querySelectorAll('td')].map((c) => c.textContent),
      })),
    );
    const names = rows.map((r) => r.k);
    for (const k of ['EC', 'IL', 'ISS', 'WnR', 'FSC', 'ISS2', 'RES0_63_56']) expect(names).toContain(k);
    const esrDiff = failed.diff?.find((d) => d.decoded);
    const differing = rows.filter((r) => r.differs).map((r) => r.k);
    expect(differing.sort()).toEqual(Object.keys(esrDiff?.decoded ?? {}).sort());
    const fsc = rows.find((r) => r.k === 'FSC');
    expect(fsc?.cells).toEqual([esrDiff?.decoded?.['FSC']?.expected, esrDiff?.decoded?.['FSC']?.actual]);

    // the IPA space: regions drawn, the counterexample's address marked inside the plot
    const svg = td.locator('svg.ipa-space');
    expect(await svg.isVisible()).toBe(true);
    const regions = await svg.locator('rect[data-region]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-region')));
    const space = ipaSpaceOf(failed.counterexample, s.profile, s.target);
    if (!space) throw new Error('not an access case');
    const want = [
      'mmio',
      ...(space.n < space.l ? ['extabt'] : []),
      ...(Math.max(space.n, space.l) < space.p ? ['asf'] : []),
      'stage1',
      'harness',
    ];
    expect(regions).toEqual(want);
    const c = failed.counterexample as { access: { ipa: string } };
    const marker = svg.locator('g[data-marker="ipa"]');
    expect(await marker.getAttribute('data-ipa')).toBe(c.access.ipa);
    const box = await svg.boundingBox();
    const mbox = await marker.boundingBox();
    expect(box && mbox && mbox.x >= box.x && mbox.x + mbox.width <= box.x + box.width + 1).toBe(true);
    await page.close();
  });

  it('index.html of a run is the same matrix with one column', async (ctx) => {
    if (!context) ctx.skip(skipWhy ?? 'no browser');
    const { page, requests } = await open(join(runs.pre518, 'index.html'));
    const s = load(runs.pre518);
    expect(await page.locator('td[data-verdict="fail"]').count()).toBe(s.totals.fail);
    expect(await page.locator('td[data-verdict="pass"]').count()).toBe(s.totals.pass);
    expect(await page.locator('td[data-verdict="fail"] summary').first().innerText()).toBe('FAIL');
    expect(requests).toHaveLength(1);
    await page.close();
  });

  it('escapes what it shows (a reason with markup stays text)', async (ctx) => {
    if (!context) ctx.skip(skipWhy ?? 'no browser');
    const s = load(runs.mainline);
    const evil = '<img src=x onerror="document.title=\'pwned\'">& "q"';
    const first = s.properties[0];
    if (!first) throw new Error('empty run');
    const bad: Summary = { ...s, properties: [{ ...first, verdict: 'error', reason: evil }] };
    const d = tmp();
    writeFileSync(join(d, 'summary.json'), JSON.stringify(bad));
    const out = join(d, 'evil.html');
    expect((await cli('report', join(d, 'summary.json'), '--out', out)).exitCode).toBe(0);
    const { page } = await open(out);
    await page.locator('td[data-verdict="error"] summary').click();
    expect(await page.locator('td[data-verdict="error"] .reason').innerText()).toBe(evil);
    expect(await page.title()).toBe('s2conform conformance matrix');
    await page.close();
  });
});
