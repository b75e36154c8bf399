/**
 * A pass that runs once at a time: a call while one runs gets that one, never a second pass beside
 * it; a failed pass goes to `failed` and never rejects the caller (the next tick tries again);
 * `drain` waits for the pass under way (shutdown).
 */
export class OnePassAtATime {
  private running: Promise<void> | null = null;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly failed: (e: Error) => void,
  ) {}

  run(): Promise<void> {
    this.running ??= this.pass()
      .catch((e: Error) => {
        this.failed(e);
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async drain(): Promise<void> {
    await this.running;
  }
}
