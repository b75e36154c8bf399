import { vi } from 'vitest';
import { ApiClient } from '@eplb/api-client';
import { OPERATOR } from './http';

/** The API client the `eplb` CLI builds, with the development operator token and the CLI's audit reason. */
export function operatorCliClient(apiUrl: string): ApiClient {
  return new ApiClient({ baseUrl: apiUrl, token: OPERATOR, reason: 'eplb CLI' });
}

/**
 * Collects what CLI commands print: every process.stdout.write from now on is appended to the
 * returned array instead of reaching the terminal (vi.restoreAllMocks() ends it).
 */
export function captureCliOutput(): string[] {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  return out;
}
