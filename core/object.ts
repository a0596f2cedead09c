// Objects with optional fields, built without a conditional spread per field.

/**
 * The fields of `o` whose value is not undefined, in `o`'s order: `{ a: 1, ...defined({ b, c }) }`
 * has b and c only when they are defined, after a, in that order (JSON written from it is what
 * `...(b !== undefined ? { b } : {}), ...(c !== undefined ? { c } : {})` wrote). null is kept.
 */
export function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: { [K in keyof T]?: Exclude<T[K], undefined> } = {};
  for (const k of Object.keys(o) as (keyof T & string)[]) {
    const v = o[k];
    if (v !== undefined) out[k] = v as Exclude<T[typeof k], undefined>;
  }
  return out;
}
