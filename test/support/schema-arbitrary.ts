// fast-check arbitraries from the JSON Schemas in /openapi.json: values a schema accepts (to get past
// validation and reach the code behind it) and values meant to break things (to reach the edges).
// Covers what TypeBox emits for our routes: const/enum, anyOf/oneOf, type lists, formats, bounds,
// arrays, objects with required keys, and $ref into components.
import fc from 'fast-check';

export type Schema = Record<string, unknown>;

/** Outbound URLs in generated bodies never resolve (RFC 2606 `.invalid`): the fuzz sends no traffic off this machine. */
const offlineUrl = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), fc.stringMatching(/^[a-z0-9/_-]{0,16}$/))
  .map(([host, path]) => `https://${host}.invalid/${path}`);

/** Strings chosen to break parsers, SQL, paths, number conversion and length checks. */
export const hostileString = fc.oneof(
  fc.constantFrom(
    '', ' ', '1e400', '-1e400', 'NaN', 'Infinity', '-1', '0', '9007199254740993', '99999999999999999999999999',
    '%00', '\u0000', '../../etc/passwd', "' or 1=1 --", '"; drop table users; --', '{{7*7}}', '<script>alert(1)</script>',
    '\uD800', '𝕏'.repeat(300), 'x'.repeat(5000), 'true', 'null', '[]', '{}', '00000000-0000-0000-0000-000000000000',
    '2026-02-30T25:61:00Z', 'Europe/Nowhere', 'https://example.invalid/a', 'javascript:alert(1)',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** Any JSON value, including numbers at and past the edges of the integer range. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(1e308, -1e308, 2 ** 53, -(2 ** 53), 0.5, -1, 0, 2147483648, true, false, null, [], {}),
  fc.jsonValue({ maxDepth: 3 }),
);

export class SchemaArbitraries {
  constructor(private readonly components: Record<string, Schema>) {}

  private resolve(s: Schema): Schema {
    let cur = s;
    for (let i = 0; i < 10 && typeof cur.$ref === 'string'; i++) {
      const name = (cur.$ref as string).split('/').pop()!;
      cur = this.components[name] ?? {};
    }
    return cur;
  }

  /** Values the schema accepts (as far as the generator can tell; formats are honoured). */
  valid(schema: Schema, depth = 0, key = ''): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    for (const k of ['anyOf', 'oneOf'] as const) {
      if (Array.isArray(s[k])) return fc.oneof(...(s[k] as Schema[]).map((x) => this.valid(x, depth + 1, key)));
    }
    if (Array.isArray(s.allOf)) return this.valid(Object.assign({}, ...(s.allOf as Schema[]).map((x) => this.resolve(x))), depth, key);
    if (Array.isArray(s.type)) return fc.oneof(...(s.type as string[]).map((type) => this.valid({ ...s, type }, depth, key)));
    switch (s.type) {
      case 'null': return fc.constant(null);
      case 'boolean': return fc.boolean();
      case 'integer': {
        const min = typeof s.minimum === 'number' ? s.minimum : -1000;
        const max = typeof s.maximum === 'number' ? Math.min(s.maximum, Number.MAX_SAFE_INTEGER) : Math.max(min, 1000) + 1000;
        return fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max });
      }
      case 'number': {
        const min = typeof s.minimum === 'number' ? s.minimum : -1e6;
        const max = typeof s.maximum === 'number' ? s.maximum : 1e6;
        return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
      }
      case 'string': return this.string(s, key);
      case 'array': {
        if (depth > 4) return fc.constant([]);
        const minLength = typeof s.minItems === 'number' ? s.minItems : 0;
        const maxLength = Math.max(minLength, Math.min(typeof s.maxItems === 'number' ? s.maxItems : 3, 3));
        return fc.array(this.valid((s.items as Schema) ?? {}, depth + 1, key), { minLength, maxLength });
      }
      case 'object': {
        const props = (s.properties ?? {}) as Record<string, Schema>;
        if (depth > 5 || Object.keys(props).length === 0) return fc.constant({});
        const model: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [name, p] of Object.entries(props)) model[name] = this.valid(p, depth + 1, name);
        return fc.record(model, { requiredKeys: ((s.required ?? []) as string[]).filter((k) => k in props) });
      }
      default: return fc.jsonValue({ maxDepth: 2 });
    }
  }

  private string(s: Schema, key: string): fc.Arbitrary<string> {
    const maxLength = Math.min(typeof s.maxLength === 'number' ? s.maxLength : 40, 40);
    const minLength = Math.min(typeof s.minLength === 'number' ? s.minLength : 0, maxLength);
    switch (s.format) {
      case 'uuid': return fc.uuid();
      case 'email': return fc.emailAddress().filter((e) => e.length <= 254);
      case 'date-time': return fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
      case 'date': return fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
      case 'uri': return offlineUrl;
    }
    if (/url|uri|instance|host/i.test(key)) return offlineUrl;
    if (typeof s.pattern === 'string') {
      try { return fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length <= Math.max(maxLength, 64)); } catch { /* a pattern JS cannot read: plain strings */ }
    }
    return fc.string({ minLength, maxLength });
  }

  /** A valid value with one part (or the whole) swapped for a hostile one. */
  hostile(schema: Schema): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    const props = (s.properties ?? {}) as Record<string, Schema>;
    const names = Object.keys(props);
    if (s.type !== 'object' || names.length === 0) return hostileValue;
    return fc.oneof(
      hostileValue,
      fc.tuple(this.valid(s), fc.constantFrom(...names), hostileValue).map(([v, name, bad]) => ({ ...(v as object), [name]: bad })),
      fc.tuple(this.valid(s), fc.string({ minLength: 1, maxLength: 12 }), hostileValue).map(([v, name, bad]) => ({ ...(v as object), [name]: bad })),
    );
  }
}
