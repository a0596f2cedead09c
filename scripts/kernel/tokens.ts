// Single-token mutants of C, as Stryker makes them for JavaScript: relational and equality operators,
// logical operators, negation, conditions forced true or false, integer literals and error returns.
// Pure: text in, mutants out. Comments and log-only lines (kvm_err, pr_warn, …) are left alone.

export interface TokenMutant {
  /** stable id: function+line offset, column, what changed */
  readonly id: string;
  /** line number in the file (1-based) */
  readonly line: number;
  readonly from: string;
  readonly to: string;
  /** the whole mutated file */
  readonly text: string;
}

export interface Region {
  /** a name for the table (the function) */
  readonly name: string;
  /** the region starts at the first occurrence of this text */
  readonly start: string;
  /** and ends before the first occurrence of this text after the start */
  readonly end: string;
}

const LOG_ONLY =
  /\b(kvm_err|kvm_info|kvm_debug|pr_warn|pr_warn_once|pr_info|pr_err|pr_debug|trace_\w+|WARN_ON_ONCE|WARN_ON|VM_WARN_ON_ONCE|VM_BUG_ON)\s*\(/;

/** The operator swaps, longest first so that '>=' is never read as '>'. */
const SWAPS: readonly (readonly [string, string])[] = [
  ['>=', '>'],
  ['<=', '<'],
  ['==', '!='],
  ['!=', '=='],
  ['&&', '||'],
  ['||', '&&'],
  ['|=', '&='],
];

/** Blank out comments and strings (same length), so positions stay those of the file. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/\/\/[^\n]*/g, (m) => ' '.repeat(m.length))
    .replace(/"(?:[^"\\\n]|\\.)*"/g, (m) => `"${' '.repeat(m.length - 2)}"`);
}

/** Index just after the parenthesis that closes the one at `open`. */
function closeParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

export function regionMutants(text: string, r: Region): TokenMutant[] {
  const from = text.indexOf(r.start);
  if (from < 0) throw new Error(`region ${r.name}: start not found`);
  const to = text.indexOf(r.end, from + r.start.length);
  if (to < 0) throw new Error(`region ${r.name}: end not found`);
  const c = code(text);
  const lineAt = (i: number) => text.slice(0, i).split('\n').length;
  const firstLine = lineAt(from);
  const out: TokenMutant[] = [];
  const add = (at: number, len: number, repl: string, what: string) => {
    const line = lineAt(at);
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    const lineEnd = text.indexOf('\n', at);
    if (LOG_ONLY.test(c.slice(lineStart, lineEnd < 0 ? undefined : lineEnd))) return;
    out.push({
      id: `${r.name}+${line - firstLine}:${at - lineStart}: ${what}`,
      line,
      from: text.slice(at, at + len),
      to: repl,
      text: text.slice(0, at) + repl + text.slice(at + len),
    });
  };
  for (let i = from; i < to; i++) {
    const rest = c.slice(i, i + 2);
    const prev = c[i - 1] ?? ' ';
    const swap = SWAPS.find(([a]) => rest.startsWith(a));
    if (swap && !(swap[0] === '>=' && prev === '>') && !(swap[0] === '<=' && prev === '<')) {
      add(i, swap[0].length, swap[1], `${swap[0]} → ${swap[1]}`);
      i += swap[0].length - 1;
      continue;
    }
    const ch = c[i] ?? '';
    const next = c[i + 1] ?? '';
    // lone '>' and '<' (not shifts, not '->'): add the equality
    if ((ch === '>' || ch === '<') && next !== ch && prev !== ch && next !== '=' && prev !== '-') {
      add(i, 1, `${ch}=`, `${ch} → ${ch}=`);
      continue;
    }
    if (ch === '!' && next !== '=') {
      add(i, 1, '', '! removed');
      continue;
    }
    if (/[A-Za-z_]/.test(ch) && !/[A-Za-z0-9_]/.test(prev)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(c.slice(i))?.[0] ?? '';
      if (word === 'if') {
        const open = c.indexOf('(', i);
        const close = closeParen(c, open);
        if (open > 0 && close > open && /^\s*$/.test(c.slice(i + 2, open))) {
          add(open, close - open, '(1)', 'if (…) → if (1)');
          add(open, close - open, '(0)', 'if (…) → if (0)');
        }
      } else if (word === 'true' || word === 'false') {
        add(i, word.length, word === 'true' ? 'false' : 'true', `${word} → ${word === 'true' ? 'false' : 'true'}`);
      } else if (/^E[A-Z]+$/.test(word) && c[i - 1] === '-') {
        add(i - 1, word.length + 1, '0', `-${word} → 0`);
      }
      i += word.length - 1;
      continue;
    }
    if (/[0-9]/.test(ch) && !/[A-Za-z0-9_]/.test(prev)) {
      const lit = /^[0-9][0-9a-fA-FxXuUlL]*/.exec(c.slice(i))?.[0] ?? '';
      const n = Number.parseInt(lit, /^0x/i.test(lit) ? 16 : 10);
      if (Number.isFinite(n))
        add(i, lit.length, String(n === 0 ? 1 : n === 1 ? 0 : n + 1), `${lit} → ${n === 0 ? 1 : n === 1 ? 0 : n + 1}`);
      i += lit.length - 1;
    }
  }
  return out;
}
