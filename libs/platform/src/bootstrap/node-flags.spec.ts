import { describe, expect, it } from 'vitest';
import { missingNodeFlags, nodeFlagsOf } from './node-flags';

describe('node flags of the apps', () => {
  it('starts the agent with a young generation of its own size and the others with none', () => {
    expect(nodeFlagsOf('agent')).toEqual(['--min-semi-space-size=16']);
    expect(nodeFlagsOf('api')).toEqual([]);
  });

  it('returns a copy the caller may extend', () => {
    nodeFlagsOf('agent').push('--trace-gc');
    expect(nodeFlagsOf('agent')).toEqual(['--min-semi-space-size=16']);
  });

  it('names the flags a process was started without, taking another value of one as given', () => {
    expect(missingNodeFlags('agent', [])).toEqual(['--min-semi-space-size=16']);
    expect(missingNodeFlags('agent', ['--enable-source-maps', '--min-semi-space-size=16'])).toEqual([]);
    expect(missingNodeFlags('agent', ['--min-semi-space-size=32'])).toEqual([]);
    expect(missingNodeFlags('collector', [])).toEqual([]);
  });
});
