import { Query } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { z, type ZodType } from 'zod';
import { ZodPipe } from './zod.pipe';

interface ObjectJsonSchema {
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
}

/**
 * A route's query: validated by its zod schema (ZodPipe) and described from the same schema in
 * the OpenAPI document (each property a query parameter with its type, bounds, enum and default),
 * so what the docs promise is what the route checks, and clients and tests can read it.
 */
export function ZodQuery(schema: ZodType): ParameterDecorator {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as ObjectJsonSchema;
  const required = new Set(json.required ?? []);
  return (target, key, index) => {
    Query(new ZodPipe(schema, 'query'))(target, key, index);
    if (key === undefined) return;
    const descriptor = Object.getOwnPropertyDescriptor(target, key);
    if (!descriptor) return;
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      ApiQuery({ name, required: required.has(name) && !('default' in property), schema: property })(target, key, descriptor);
    }
  };
}
