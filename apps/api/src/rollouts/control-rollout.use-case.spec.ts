import { describe, expect, it } from 'vitest';
import { ROLLOUT_EVENTS } from '@eplb/contracts';
import { DeploymentRollouts, type DeploymentRolloutsReader, type RolloutEventRepository } from '@eplb/persistence';
import { ControlRolloutUseCase } from './control-rollout.use-case';

const meta = { actor: 'operator:ops', reason: 'header reason', correlationId: 'c1' };

function useCase(events: { type: string; payload: Record<string, unknown> }[]) {
  const view = new DeploymentRollouts('d');
  events.forEach((e, i) => view.apply({ id: String(i + 1), stream: 'rollouts:d', actor: 'a', reason: 'r', correlationId: 'c', ...e }));
  const controls: unknown[] = [];
  const reader = { load: async () => ({ view, events: [] }) } as unknown as DeploymentRolloutsReader;
  const repo = { control: async (...args: unknown[]) => void controls.push(args) } as unknown as RolloutEventRepository;
  return { uc: new ControlRolloutUseCase(reader, repo), controls };
}

describe('ControlRolloutUseCase', () => {
  it('records the control with the body reason; rollback only travels with abort', async () => {
    const { uc, controls } = useCase([{ type: ROLLOUT_EVENTS.requested, payload: { rolloutId: 'r1', mapVersion: 2 } }]);
    expect(await uc.execute('d', 'r1', { action: 'abort', reason: 'bad heat', rollback: false }, meta)).toEqual({ rolloutId: 'r1', action: 'abort', accepted: true });
    await uc.execute('d', 'r1', { action: 'pause', reason: 'look first', rollback: true }, meta);
    expect(controls).toEqual([
      ['d', { rolloutId: 'r1', action: 'abort', rollback: false }, { ...meta, reason: 'bad heat' }],
      ['d', { rolloutId: 'r1', action: 'pause' }, { ...meta, reason: 'look first' }],
    ]);
  });

  it('404 for a rollout the deployment never had, 409 once it finished or was rejected', async () => {
    const { uc } = useCase([
      { type: ROLLOUT_EVENTS.requested, payload: { rolloutId: 'r1', mapVersion: 2 } },
      { type: ROLLOUT_EVENTS.rejected, payload: { rolloutId: 'r1', why: 'no' } },
    ]);
    await expect(uc.execute('d', 'nope', { action: 'pause', reason: 'x' }, meta)).rejects.toMatchObject({ problem: { status: 404 } });
    await expect(uc.execute('d', 'r1', { action: 'pause', reason: 'x' }, meta)).rejects.toMatchObject({ problem: { status: 409, detail: 'rollout r1 is finished (REJECTED)' } });
  });
});
