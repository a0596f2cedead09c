import { describe, expect, it } from 'vitest';
import { defined } from '../core/object.ts';

describe('defined', () => {
  it('drops undefined fields and keeps the others, null included, in order', () => {
    const b: number | undefined = undefined;
    const o = { z: 0, ...defined({ c: 3, b, a: null, d: '' }), y: 1 };
    expect(o).toEqual({ z: 0, c: 3, a: null, d: '', y: 1 });
    expect(JSON.stringify(o)).toBe('{"z":0,"c":3,"a":null,"d":"","y":1}');
    expect('b' in o).toBe(false);
  });
});
