import { PipeTransform } from '@nestjs/common';
import type { ZodType } from 'zod';
import { validationProblem } from './problem';

/** Validates a body or query with a zod schema; failures become a 400 problem naming each field. */
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly schema: ZodType<T>,
    private readonly where: 'body' | 'query' | 'param' = 'body',
  ) {}

  transform(value: unknown): T {
    const parsed = this.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    throw validationProblem(
      parsed.error.issues.map((i) => ({
        field: [this.where, ...i.path.map(String)].join('.'),
        message: i.message,
      })),
    );
  }
}
