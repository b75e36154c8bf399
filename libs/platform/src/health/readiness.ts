/** A dependency the app cannot serve without. `check` rejects with a human-readable reason. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

export interface ReadinessReport {
  status: 'ready' | 'not-ready';
  checks: Record<string, { status: 'up' | 'down'; reason?: string; ms: number }>;
}

const CHECK_TIMEOUT_MS = 2500;

/** Runs every check concurrently, each bounded in time, so /readyz answers within ~2.5 s. */
export async function runChecks(checks: readonly ReadinessCheck[]): Promise<ReadinessReport> {
  const entries = await Promise.all(
    checks.map(async (c) => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
          }),
        ]);
        return [c.name, { status: 'up' as const, ms: Date.now() - started }] as const;
      } catch (err) {
        return [c.name, { status: 'down' as const, reason: (err as Error).message, ms: Date.now() - started }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report = Object.fromEntries(entries);
  return { status: entries.every(([, r]) => r.status === 'up') ? 'ready' : 'not-ready', checks: report };
}
