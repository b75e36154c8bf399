import { describe, expect, it } from 'vitest';
import { UsageError } from '@eplb/cli';
import { parseSimArgs } from './sim-options';

const d = { token: 'dev-token-xxxxxxxxxxxxxxxxxx' };
const parse = (s: string) => parseSimArgs(s.split(' ').filter(Boolean), d);

describe('simulator arguments', () => {
  it('has defaults for everything but the deployment', () => {
    expect(parse('--deployment dsv3-a')).toMatchObject({
      deployment: 'dsv3-a',
      create: null,
      scenarios: ['alternating'],
      steps: 1024,
      durationMs: null,
      rate: null,
      episodeSteps: 16,
      driftSteps: null,
      stepsPerEvent: 1,
      startStep: 0,
      phase: 'decode',
      topK: 8,
      seed: 1,
      api: 'http://127.0.0.1:3000',
      token: d.token,
      brokers: null,
      validate: true,
      encoding: 'v1',
      mapSource: 'api',
      dryRun: false,
    });
    expect(parse('--deployment a --map-source db')).toMatchObject({ mapSource: 'db' });
    expect(parse('--deployment a --dry-run')).toMatchObject({ mapSource: 'static' });
  });

  it('reads every option, in both spellings', () => {
    const o = parse(
      '--deployment=a --create 58,256,64,5,8,8 --scenario mix --duration 2.5 --rate 300 --episode-steps 32 --drift-steps 500 --steps-per-event 4 ' +
        '--start-step 100 --phase prefill --tokens 1000 --top-k 6 --zipf 0.9 --noise 0 --seed 42 --api http://h:1/ --token t ' +
        '--brokers a:1,b:2 --no-validate --map-refresh-ms 250 --dry-run',
    );
    expect(o).toMatchObject({
      deployment: 'a',
      create: { layers: 58, experts: 256, ranks: 64, slotsPerRank: 5, nodes: 8, groups: 8 },
      scenarios: ['alternating', 'drift', 'spikes'],
      scenarioName: 'mix',
      steps: null,
      durationMs: 2500,
      rate: 300,
      episodeSteps: 32,
      driftSteps: 500,
      stepsPerEvent: 4,
      startStep: 100,
      phase: 'prefill',
      tokensPerStep: 1000,
      topK: 6,
      zipf: 0.9,
      noise: 0,
      seed: 42,
      api: 'http://h:1',
      token: 't',
      brokers: ['a:1', 'b:2'],
      validate: false,
      encoding: 'v1',
      mapRefreshMs: 250,
      mapSource: 'static',
      dryRun: true,
    });
    expect(parse('--deployment a --scenario drift,spikes')).toMatchObject({ scenarios: ['drift', 'spikes'] });
    expect(parse('--help --deployment a')).toBe('help');
  });

  it.each([
    ['', /--deployment/],
    ['--deployment Bad', /deployment id/],
    ['--deployment a --steps 10 --duration 1', /not both/],
    ['--deployment a --steps 0', /--steps/],
    ['--deployment a --rate 0', /--rate/],
    ['--deployment a --rate fast', /--rate/],
    ['--deployment a --scenario chaos', /unknown chaos/],
    ['--deployment a --phase warmup', /--phase/],
    ['--deployment a --create 2,4,2', /L,E,R,S,N/],
    ['--deployment a --create 2,10,2,3,1', /cannot hold/],
    ['--deployment a --create 2,4,3,3,2', /do not divide/],
    ['--deployment a --brokers localhost', /host:port/],
    ['--deployment a --stpes 3', /unknown option --stpes/],
    ['--deployment a --dry-run=yes', /takes no value/],
    ['--deployment a --seed=', /needs a value/],
    ['--deployment a --seed --steps 3', /needs a value/],
    ['--deployment a --seed', /needs a value/],
    ['--deployment a extra', /unexpected argument/],
    ['--deployment a --map-source kafka', /--map-source must be one of api, db, static/],
    ['--deployment a --dry-run --map-source db', /--dry-run simulates the static map only/],
  ])('refuses %s', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });
});
