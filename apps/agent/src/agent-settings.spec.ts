import { describe, expect, it } from 'vitest';
import { loadAgentSettings } from './agent-settings';

describe('agent settings', () => {
  it('keeps state on disk by default; keeping none takes an explicit AGENT_STATE_EPHEMERAL=true', () => {
    const s = loadAgentSettings({});
    expect(s.AGENT_STATE_DIR).toBe('/var/lib/eplb-agent');
    expect(s.AGENT_STATE_EPHEMERAL).toBe(false);
    expect(loadAgentSettings({ AGENT_STATE_DIR: '/srv/agent' }).AGENT_STATE_DIR).toBe('/srv/agent');
    expect(loadAgentSettings({ AGENT_STATE_EPHEMERAL: 'true' }).AGENT_STATE_EPHEMERAL).toBe(true);
    expect(() => loadAgentSettings({ AGENT_STATE_EPHEMERAL: 'yes' })).toThrow();
  });
});
