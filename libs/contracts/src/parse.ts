import type { z } from 'zod';

/**
 * The edge checks every contract shares: raw bytes to JSON, and a zod failure to one line naming
 * the first offending field (`path: message`, `(root)` for the whole message).
 */
export type JsonRead = { ok: true; json: unknown } | { ok: false; reason: string };

export function readJson(raw: Buffer | string | null): JsonRead {
  if (raw === null || raw.length === 0) return { ok: false, reason: 'empty message' };
  try {
    return { ok: true, json: JSON.parse(raw.toString()) };
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
}

export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`;
}
