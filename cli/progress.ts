// The run as a person sees it: one line per property, a verdict line per
// family with its cases/s, and on long runs progress while a family runs (a
// status line rewritten in place on a terminal, a line every 30 s in a log).
// --quiet prints only the final line; colour only on a terminal, never with NO_COLOR.

import type { PropertyResult, Verdict } from '../core/result.ts';
import { formatResult, type Paint } from './format.ts';

export interface ProgressOptions {
  readonly write: (s: string) => void;
  readonly tty: boolean;
  readonly quiet: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  /** the terminal's width: the status line is cut to fit, so rewriting it in place works */
  readonly columns?: number;
  /** a log (not a terminal) gets a progress line at most this often; default 30 s */
  readonly heartbeatMs?: number;
}

const CODES: Record<Verdict | 'dim' | 'bold', string> = { pass: '32', fail: '31', skip: '33', error: '35', dim: '2', bold: '1' };

/** https://no-color.org: NO_COLOR present and not empty disables colour. */
export function useColour(tty: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return tty && !(env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') && env['TERM'] !== 'dumb';
}

function rate(cases: number, ms: number): string {
  if (ms <= 0 || cases === 0) return `${cases.toLocaleString('en-US')} cases`;
  const r = (cases * 1000) / ms;
  return `${cases.toLocaleString('en-US')} cases, ${r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toFixed(1)} cases/s`;
}

export class Progress {
  private readonly now: () => number;
  private readonly paint: Paint;
  private family: { name: string; total: number; done: PropertyResult[]; cases: number; t0: number } | undefined;
  private property: { id: string; cases: number; t0: number } | undefined;
  private status = false; // a status line is on screen
  private lastDraw = 0;
  private lastBeat = 0;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? (() => performance.now());
    const colour = useColour(o.tty, o.env);
    this.paint = colour ? (kind, s) => `\x1b[${CODES[kind]}m${s}\x1b[0m` : (_kind, s) => s;
  }

  /** A line that is part of the run's story (suppressed by --quiet). */
  line(s: string): void {
    if (this.o.quiet) return;
    this.clear();
    this.o.write(`${s}\n`);
  }

  /** The final line: always printed. */
  final(s: string): void {
    this.clear();
    this.o.write(`${s}\n`);
  }

  /** A signal stopped the run: clear the status line and draw nothing more. */
  interrupt(): void {
    this.clear();
    this.family = undefined;
    this.property = undefined;
  }

  startFamily(name: string, total: number): void {
    this.family = { name, total, done: [], cases: 0, t0: this.now() };
  }

  startProperty(id: string): void {
    this.property = { id, cases: 0, t0: this.now() };
    this.lastBeat = this.now();
    this.draw(true);
  }

  /** One case ran. */
  tick(): void {
    if (this.family) this.family.cases++;
    if (this.property) this.property.cases++;
    this.draw(false);
  }

  endProperty(r: PropertyResult): void {
    this.family?.done.push(r);
    this.property = undefined;
    this.line(formatResult(r, this.paint));
  }

  endFamily(): void {
    const f = this.family;
    if (!f) return;
    this.family = undefined;
    const n = (v: Verdict) => f.done.filter((r) => r.verdict === v).length;
    const verdict: Verdict = n('fail') > 0 ? 'fail' : n('error') > 0 ? 'error' : n('pass') === 0 && n('skip') > 0 ? 'skip' : 'pass';
    const word = { pass: 'conforms', fail: 'DEVIATES', skip: 'skipped', error: 'ERROR' }[verdict];
    const parts = [`${n('pass')} ok`];
    if (n('fail')) parts.push(`${n('fail')} failed`);
    if (n('skip')) parts.push(`${n('skip')} skipped`);
    if (n('error')) parts.push(`${n('error')} errors`);
    const ms = this.now() - f.t0;
    this.line(
      `${this.paint(verdict, `== ${f.name}: ${word}`)} (${parts.join(', ')} of ${f.done.length}; ${rate(f.cases, ms)}, ${(ms / 1000).toFixed(1)} s)`,
    );
  }

  private draw(force: boolean): void {
    if (this.o.quiet || !this.family || !this.property) return;
    const t = this.now();
    const f = this.family;
    const p = this.property;
    const text = `${f.name} ${f.done.length + 1}/${f.total} · ${p.id}: ${rate(p.cases, t - p.t0)}`;
    if (this.o.tty) {
      if (!force && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      const width = this.o.columns ?? 80;
      const fit = text.length < width ? text : `${text.slice(0, Math.max(0, width - 2))}…`;
      this.o.write(`\r\x1b[K${this.paint('dim', fit)}`);
      this.status = true;
      return;
    }
    if (t - this.lastBeat >= (this.o.heartbeatMs ?? 30_000)) {
      this.lastBeat = t;
      this.o.write(`   … ${text}\n`);
    }
  }

  private clear(): void {
    if (!this.status) return;
    this.o.write('\r\x1b[K');
    this.status = false;
  }
}
