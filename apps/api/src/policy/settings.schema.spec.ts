import { describe, expect, it } from 'vitest';
import { policySettings } from './settings.schema';

describe('policy settings schema', () => {
  it('takes the rollout settings and the loop limit', () => {
    const ok = policySettings.safeParse({ rolloutSteps: [{ layers: 1, analysis: true }, 4, 'rest'], rolloutOnFailure: 'hold', rolloutBytesPerSecond: null, maxAutoRolloutsPerHour: 4 });
    expect(ok.success).toBe(true);
  });

  it("refuses 'rest' before the last step, an empty step list and an unknown on-failure", () => {
    expect(policySettings.safeParse({ rolloutSteps: ['rest', 2] }).success).toBe(false);
    expect(policySettings.safeParse({ rolloutSteps: [{ layers: 'rest' }, 1] }).success).toBe(false);
    expect(policySettings.safeParse({ rolloutSteps: [] }).success).toBe(false);
    expect(policySettings.safeParse({ rolloutOnFailure: 'retry' }).success).toBe(false);
    expect(policySettings.safeParse({ maxAutoRolloutsPerHour: -1 }).success).toBe(false);
  });
});
