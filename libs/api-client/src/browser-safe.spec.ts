import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The web console bundles this lib for a browser: no Node built-ins, and from the other libs
// only their types (a value import would pull Kafka signing, zod schemas and the domain along).
describe('api-client sources', () => {
  const sources = readdirSync(__dirname).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));

  it.each(sources)('%s imports no node: module and only types from other libs', (file) => {
    const text = readFileSync(join(__dirname, file), 'utf8');
    const imports = [...text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)].map((m) => ({ typeOnly: Boolean(m[1]), from: m[2] }));
    expect(imports.filter((i) => i.from.startsWith('node:') || /^(fs|path|http|https|net|crypto)$/.test(i.from))).toEqual([]);
    expect(imports.filter((i) => !i.from.startsWith('.') && !i.typeOnly)).toEqual([]);
  });
});
