import fc from 'fast-check';

/**
 * Requests generated from the API's own OpenAPI document: every operation it lists, with path
 * and query parameters and JSON bodies drawn from their schemas — values the schema accepts,
 * values at and just past its bounds, and values of the wrong kind altogether.
 */

export type JsonSchema = Record<string, unknown> & {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
};

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly required: boolean;
  readonly schema: JsonSchema;
}

export interface Operation {
  /** `METHOD /path/{param}` as the document spells it: the key of the role table. */
  readonly key: string;
  readonly method: string;
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body: JsonSchema | null;
  /** Whether the document says a bearer token is needed. */
  readonly secured: boolean;
}

export interface GeneratedRequest {
  readonly path: string;
  readonly query: string;
  /** A JSON value, or raw text that is not JSON (`raw`). */
  readonly body: { json: unknown } | { raw: string } | null;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> }; security?: unknown[] }>>;
}

/** Every operation of the document, in the document's order. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query');
      // a template segment the document forgot to declare is still a path parameter
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).filter((n) => !declared.some((p) => p.in === 'path' && p.name === n));
      out.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        parameters: [
          ...declared.map((p) => ({ name: p.name, in: p.in as 'path' | 'query', required: p.required ?? p.in === 'path', schema: p.schema ?? { type: 'string' } })),
          ...templated.map((name) => ({ name, in: 'path' as const, required: true, schema: { type: 'string' } })),
        ],
        body: op.requestBody?.content?.['application/json']?.schema ?? (op.requestBody ? {} : null),
        secured: (op.security ?? []).length > 0,
      });
    }
  }
  return out;
}

/** Values of the wrong kind for almost any field: nothing a schema-respecting client would send. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, -0.5, 2 ** 31, 2 ** 53 + 2, 1e308, '', ' ', 'x'.repeat(5000), '💥\u0000', '../../etc', '%00', "'; DROP TABLE events;--", [], {}, [[]], { __proto__: { x: 1 } }),
  fc.jsonValue({ maxDepth: 3 }),
);

const isoTime = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());

const typesOf = (s: JsonSchema): string[] => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** Integers near the bounds and within them, small ones most often (a big valid shape is slow to create, not interesting). */
function integers(s: JsonSchema): fc.Arbitrary<number> {
  const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -(2 ** 31));
  const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 2 ** 31);
  return fc.oneof(
    { arbitrary: fc.integer({ min, max: Math.min(max, Math.max(min, 0) + 16) }), weight: 4 },
    { arbitrary: fc.constantFrom(min, max, min - 1, max + 1), weight: 2 },
  );
}

function numbers(s: JsonSchema): fc.Arbitrary<number> {
  const min = s.minimum ?? s.exclusiveMinimum ?? -1e9;
  const max = s.maximum ?? s.exclusiveMaximum ?? 1e9;
  return fc.oneof({ arbitrary: fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), weight: 4 }, { arbitrary: fc.constantFrom(min, max, min - 1e-9, max + 1), weight: 1 });
}

function strings(s: JsonSchema): fc.Arbitrary<string> {
  if (s.format === 'date-time') return isoTime;
  if (s.format === 'uuid') return fc.uuid();
  if (s.pattern) {
    const re = new RegExp(s.pattern);
    return fc.stringMatching(re).filter((x) => x.length <= (s.maxLength ?? 256) && x.length >= (s.minLength ?? 0));
  }
  const minLength = s.minLength ?? 0;
  const maxLength = Math.min(s.maxLength ?? 40, minLength + 40);
  return fc.oneof({ arbitrary: fc.string({ minLength, maxLength }), weight: 4 }, { arbitrary: fc.constantFrom('x'.repeat(Math.max(0, minLength - 1)), 'x'.repeat((s.maxLength ?? 300) + 1)), weight: 1 });
}

/** A value for a schema: mostly what it accepts (so requests get past validation), sometimes near misses, sometimes garbage. */
export function valueFor(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  const valid = validValue(schema, depth);
  return depth > 3 ? valid : fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: hostile, weight: 1 });
}

function validValue(s: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((a) => validValue(a, depth + 1)));
  if (s.allOf?.length) return validValue(Object.assign({}, ...s.allOf) as JsonSchema, depth);
  const types = typesOf(s);
  if (types.length > 1) return fc.oneof(...types.map((t) => validValue({ ...s, type: t }, depth)));
  switch (types[0]) {
    case 'integer':
      return integers(s);
    case 'number':
      return numbers(s);
    case 'string':
      return strings(s);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(s.items ? valueFor(s.items, depth + 1) : hostile, { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, (s.minItems ?? 0) + 4) });
    case 'object':
    case undefined: {
      if (!s.properties) return depth > 2 ? fc.constant({}) : fc.dictionary(fc.string({ maxLength: 8 }), hostile, { maxKeys: 3 });
      const required = new Set(s.required ?? []);
      const record = fc.record(
        Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, valueFor(v, depth + 1)])),
        { requiredKeys: Object.keys(s.properties).filter((k) => required.has(k)) },
      );
      // now and then a key the schema does not know, or a required one left out
      return fc.oneof(
        { arbitrary: record, weight: 8 },
        { arbitrary: record.map((o) => ({ ...o, unexpected: 1 })), weight: 1 },
        { arbitrary: record.map((o) => Object.fromEntries(Object.entries(o).slice(1))), weight: 1 },
      );
    }
    default:
      return hostile;
  }
}

const scalarText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');

/**
 * Requests for one operation: path parameters from `known` (real ids, so requests reach the
 * use cases) or from their schema, query parameters present or not, and a body that is JSON
 * from the schema or now and then not JSON at all.
 */
export function requestsFor(op: Operation, known: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<GeneratedRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const segment = (p: Parameter): fc.Arbitrary<string> => {
    const fromSchema = valueFor(p.schema).map(scalarText).filter((t) => t.length > 0 && t.length < 2000);
    return known[p.name] ? fc.oneof({ arbitrary: known[p.name], weight: 3 }, { arbitrary: fromSchema, weight: 1 }) : fromSchema;
  };
  const path = fc.tuple(...pathParams.map(segment)).map((values) => pathParams.reduce((acc, p, i) => acc.replace(`{${p.name}}`, encodeURIComponent(values[i])), op.path));
  const query = fc
    .tuple(...queryParams.map((p) => fc.option(valueFor(p.schema).map(scalarText), { freq: 2 })))
    .map((values) => new URLSearchParams(queryParams.flatMap((p, i) => (values[i] === null ? [] : [[p.name, values[i]!] as [string, string]]))).toString());
  const body: fc.Arbitrary<GeneratedRequest['body']> =
    op.body === null
      ? fc.constant(null)
      : fc.oneof(
          { arbitrary: valueFor(op.body).map((json) => ({ json })), weight: 8 },
          { arbitrary: fc.constantFrom('{"unterminated": ', 'not json', '[1, 2,', '').map((raw) => ({ raw })), weight: 1 },
        );
  return fc.record({ path, query, body });
}

/** A stable seed per operation: adding a route does not change what the others are sent. */
export function seedOf(key: string, base: number): number {
  let h = base | 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return h;
}
