// The rules of KCIDB schema v5.3 (kernelci/kcidb-io kcidb_io/schema/v05_03.py) for what s2conform
// writes: the top level, checkouts, builds and tests. Written from the published field list: required
// fields, types, id / origin / path patterns, the status enum, lengths, date-times, and no unknown fields
// (every object has additionalProperties: false). Returns one line per violation; [] is valid.

type Rule =
  | { t: 'string'; pattern?: RegExp; maxLength?: number; format?: 'date-time' | 'uri' }
  | { t: 'boolean' }
  | { t: 'number' }
  | { t: 'integer'; min?: number; max?: number; const?: number }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'object'; props: Readonly<Record<string, Rule>>; required?: readonly string[] }
  | { t: 'free' } // misc: any object
  | { t: 'array'; items: Rule };

const NO_NUL = /^[^\0]*$/;
const ID = /^[a-z0-9_]+:[^\0]*$/;
const ORIGIN = /^[a-z0-9_]+$/;
const PATH = /^([a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/;
const STATUS = ['FAIL', 'ERROR', 'MISS', 'PASS', 'DONE', 'SKIP'] as const;

const text: Rule = { t: 'string', pattern: NO_NUL };
const id: Rule = { t: 'string', pattern: ID };
const time: Rule = { t: 'string', format: 'date-time' };
const uri: Rule = { t: 'string', format: 'uri' };
const excerpt: Rule = { t: 'string', maxLength: 16384, pattern: NO_NUL };
const resources: Rule = { t: 'array', items: { t: 'object', props: { name: { t: 'string', pattern: /^[^/\0]+$/ }, url: uri }, required: ['name', 'url'] } };
const status: Rule = { t: 'enum', values: STATUS };

const CHECKOUT: Rule = {
  t: 'object',
  required: ['id', 'origin'],
  props: {
    _timestamp: time, id, origin: { t: 'string', pattern: ORIGIN }, tree_name: text,
    git_repository_url: { t: 'string', format: 'uri', pattern: /^https:\/\/[^\0]*$/ },
    git_commit_hash: { t: 'string', pattern: /^[0-9a-f]{40}$/ }, git_commit_name: text,
    git_commit_tags: { t: 'array', items: text }, git_commit_message: text, git_repository_branch: text,
    git_repository_branch_tip: { t: 'boolean' }, patchset_files: resources,
    patchset_hash: { t: 'string', pattern: /^$|^[0-9a-f]{64}$/ }, message_id: text, comment: text,
    start_time: time, origin_builds_finish_time: time, origin_tests_finish_time: time, log_url: uri,
    log_excerpt: excerpt, valid: { t: 'boolean' }, misc: { t: 'free' },
  },
};

const BUILD: Rule = {
  t: 'object',
  required: ['checkout_id', 'id', 'origin'],
  props: {
    _timestamp: time, checkout_id: id, id, origin: { t: 'string', pattern: ORIGIN }, comment: text,
    start_time: time, duration: { t: 'number' }, architecture: { t: 'string', pattern: /^[a-z0-9_]*$/ },
    command: text, compiler: text, input_files: resources, output_files: resources, config_name: text,
    config_url: uri, log_url: uri, log_excerpt: excerpt, status, misc: { t: 'free' },
  },
};

const TEST: Rule = {
  t: 'object',
  required: ['build_id', 'id', 'origin'],
  props: {
    _timestamp: time, build_id: id, id, origin: { t: 'string', pattern: ORIGIN },
    environment: {
      t: 'object',
      props: { compatible: { t: 'array', items: { t: 'string', pattern: /^[^ \0]+(,[^ \0]+)*$/ } }, comment: text, misc: { t: 'free' } },
    },
    path: { t: 'string', pattern: PATH }, comment: text, log_url: uri, log_excerpt: excerpt, status,
    number: { t: 'object', required: ['value'], props: { value: { t: 'number' }, unit: text, prefix: { t: 'enum', values: ['metric', 'binary'] } } },
    start_time: time, duration: { t: 'number' }, input_files: resources, output_files: resources, misc: { t: 'free' },
  },
};

const TOP: Rule = {
  t: 'object',
  required: ['version'],
  props: {
    version: { t: 'object', required: ['major'], props: { major: { t: 'integer', const: 5 }, minor: { t: 'integer', min: 0, max: 3 } } },
    checkouts: { t: 'array', items: CHECKOUT },
    builds: { t: 'array', items: BUILD },
    tests: { t: 'array', items: TEST },
    // s2conform writes no issues or incidents; the schema allows them
    issues: { t: 'array', items: { t: 'free' } },
    incidents: { t: 'array', items: { t: 'free' } },
  },
};

function check(v: unknown, r: Rule, at: string, out: string[]): void {
  const bad = (why: string): void => void out.push(`${at || "(top)"}: ${why}`);
  switch (r.t) {
    case 'string':
      if (typeof v !== 'string') return bad(`must be a string, not ${JSON.stringify(v)}`);
      if (r.maxLength !== undefined && v.length > r.maxLength) bad(`longer than ${r.maxLength} characters`);
      if (r.pattern && !r.pattern.test(v)) bad(`${JSON.stringify(v.slice(0, 80))} does not match ${r.pattern.source}`);
      if (r.format === 'date-time' && !DATE_TIME.test(v)) bad(`${JSON.stringify(v)} is not an RFC 3339 date-time`);
      if (r.format === 'uri' && !URI.test(v)) bad(`${JSON.stringify(v)} is not a URI`);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') bad(`must be a boolean`);
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) bad(`must be a number`);
      return;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return bad(`must be an integer`);
      if (r.const !== undefined && v !== r.const) bad(`must be ${r.const}`);
      if (r.min !== undefined && v < r.min) bad(`must be at least ${r.min}`);
      if (r.max !== undefined && v > r.max) bad(`must be at most ${r.max}`);
      return;
    case 'enum':
      if (typeof v !== 'string' || !r.values.includes(v)) bad(`${JSON.stringify(v)} is not one of ${r.values.join(', ')}`);
      return;
    case 'free':
      if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('must be an object');
      return;
    case 'array':
      if (!Array.isArray(v)) return bad('must be an array');
      v.forEach((x, i) => check(x, r.items, `${at}[${i}]`, out));
      return;
    case 'object': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad('must be an object');
      const o = v as Record<string, unknown>;
      for (const k of r.required ?? []) if (!(k in o)) bad(`required field '${k}' is missing`);
      for (const [k, x] of Object.entries(o)) {
        const sub = r.props[k];
        const where = at ? `${at}.${k}` : k;
        if (!sub) bad(`unknown field '${k}' (additionalProperties is false: put it in misc)`);
        else if (x === null) out.push(`${where}: must not be null`);
        else check(x, sub, where, out);
      }
      return;
    }
  }
}

/** Every way `data` breaks KCIDB v5.3, one line each; [] when it is a valid submission. */
export function kcidbProblems(data: unknown): string[] {
  const out: string[] = [];
  check(data, TOP, '', out);
  // ids must be unique per object type, and every reference must resolve within the submission
  // (only over what the schema check left well-formed: arrays of objects, whatever else they hold)
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const raw = data as Record<string, unknown>;
    const objects = (v: unknown): Record<string, unknown>[] | undefined =>
      Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x)) : undefined;
    const d = { checkouts: objects(raw['checkouts']), builds: objects(raw['builds']), tests: objects(raw['tests']) };
    for (const kind of ['checkouts', 'builds', 'tests'] as const) {
      const ids = (d[kind] ?? []).map((x) => x.id);
      const dup = ids.find((x, i) => ids.indexOf(x) !== i);
      if (dup !== undefined) out.push(`${kind}: id ${JSON.stringify(dup)} appears twice`);
    }
    const checkouts = new Set((d.checkouts ?? []).map((x) => x.id));
    const builds = new Set((d.builds ?? []).map((x) => x.id));
    (d.builds ?? []).forEach((b, i) => {
      if (d.checkouts && !checkouts.has(b.checkout_id)) out.push(`builds[${i}].checkout_id: no such checkout in the submission`);
    });
    (d.tests ?? []).forEach((t, i) => {
      if (d.builds && !builds.has(t.build_id)) out.push(`tests[${i}].build_id: no such build in the submission`);
    });
  }
  return out;
}
