/**
 * Domain errors carry a stable code and, where it helps the user, the path of the offending field.
 * The edges (HTTP, CLI, Kafka consumers) turn them into problem+json, one-line messages or
 * dead-letter reasons; the domain never knows which.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'DomainError';
  }
}

export const invalid = (field: string, message: string): DomainError =>
  new DomainError('invalid', message, field);
