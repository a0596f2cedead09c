// One parser for every subcommand's flags: node's parseArgs, with two things it gets wrong for us.
//  - A value that starts with '-' (`--runs -1`, `--seed -5`) is the flag's value, not "ambiguous":
//    it is joined to its flag, so the flag's own check says what is wrong with it (`--runs 0` and
//    `--runs -1` print the same line).
//  - Its errors become one line that names the flag, never its multi-line hint.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../adapters/spec.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<O extends Options>(argv: readonly string[], options: O, allowPositionals = false) {
  const known = new Set(Object.keys(options).map((k) => `--${k}`));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    const opt = a.startsWith('--') ? options[a.slice(2)] : undefined;
    if (opt?.type === 'string' && next !== undefined && next.startsWith('-') && next !== '-' && !known.has(next.split('=')[0] as string)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    const flag = /'(-[^' ]+)/.exec(msg)?.[1];
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag && /does not take an argument/.test(msg))
      throw new UsageError(`${flag} takes no value`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) throw new UsageError(`${flag} needs a value`);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) throw new UsageError(`unknown option '${flag}' (try --help)`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError(`unexpected argument ${/'[^']*'/.exec(msg)?.[0] ?? ''} (try --help)`.replace('  ', ' '));
    throw new UsageError(msg.replace(/\. To specify a positional argument.*$/, ''));
  }
}
