import { DomainError } from '../src/errors';

/**
 * Runs `fn`, which must throw a DomainError, and returns the field and message it names — what a
 * caller (the API's problem+json, the CLI) shows for a bad map file or plan.
 */
export function fieldOf(fn: () => unknown): { field?: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error('expected a DomainError');
}
