/** A command line the program cannot act on: the message says what to change; exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
