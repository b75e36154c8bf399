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

  it('drives the simulated backend unless AGENT_BACKEND=torch names the ranks\' bridge sockets', () => {
    expect(loadAgentSettings({}).AGENT_BACKEND).toBe('simulated');
    const t = loadAgentSettings({ AGENT_BACKEND: 'torch', AGENT_BRIDGE_SOCKETS: '2=/run/eplb/d/rank-2.sock, 3=/run/eplb/d/rank-3.sock' });
    expect(t.AGENT_BACKEND).toBe('torch');
    expect(t.AGENT_BRIDGE_SOCKETS).toEqual({ 2: '/run/eplb/d/rank-2.sock', 3: '/run/eplb/d/rank-3.sock' });
    expect(() => loadAgentSettings({ AGENT_BACKEND: 'nccl' })).toThrow();
    expect(() => loadAgentSettings({ AGENT_BRIDGE_SOCKETS: '/run/eplb/d/rank-2.sock' })).toThrow(/rank=path/);
  });
});
