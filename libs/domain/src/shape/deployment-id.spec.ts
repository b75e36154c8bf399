import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_ID_MAX_LENGTH, isDeploymentId } from './deployment-id';

describe('isDeploymentId', () => {
  it('takes lowercase ids with digits, dots, underscores and dashes', () => {
    for (const id of ['demo', 'dsv3-a', 'q.30_b', '0x', 'a'.repeat(DEPLOYMENT_ID_MAX_LENGTH)]) expect(isDeploymentId(id)).toBe(true);
  });
  it('refuses empty, too long, upper case, a leading separator, spaces, slashes and non-strings', () => {
    for (const id of ['', 'a'.repeat(DEPLOYMENT_ID_MAX_LENGTH + 1), 'Demo', '-a', '.a', 'a b', 'a/b', 7, null]) expect(isDeploymentId(id)).toBe(false);
  });
});
