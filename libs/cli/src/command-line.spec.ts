import { describe, expect, it } from 'vitest';
import { parseCommandLine, requiredOption } from './command-line';
import { formatHelp } from './help';
import { UsageError } from './usage-error';

const options = {
  to: { type: 'string', value: 'VERSION', help: 'the map version' },
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table or json' },
  hold: { type: 'boolean', help: 'keep committed layers' },
} as const;

describe('parseCommandLine', () => {
  it('reads values in both spellings, short aliases, flags and positionals', () => {
    const line = parseCommandLine(['d', '--to', '4', '-o', 'json', 'r', '--hold'], options);
    expect(line.positionals).toEqual(['d', 'r']);
    expect([line.string('to'), line.string('output'), line.flag('hold')]).toEqual(['4', 'json', true]);
    expect(parseCommandLine(['--to=5'], options).string('to')).toBe('5');
    expect(parseCommandLine([], options).has('to')).toBe(false);
    expect(requiredOption(parseCommandLine(['--to', '1'], options), 'to')).toBe('1');
  });

  it.each([
    [['--tp', '4'], 'unknown option --tp'],
    [['-x'], 'unknown option -x'],
    [['--hold=yes'], 'option --hold takes no value'],
    [['--to'], 'option --to needs a value'],
    [['--to='], 'option --to needs a value'],
    [['--to', '--hold'], 'option --to needs a value (write --to=-X for one starting with a dash)'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseCommandLine(argv, options)).toThrow(UsageError);
    expect(() => parseCommandLine(argv, options)).toThrow(message);
  });

  it('names a missing required option; undeclared names are a programming error', () => {
    expect(() => requiredOption(parseCommandLine([], options), 'to')).toThrow(new UsageError('missing required option --to'));
    expect(() => parseCommandLine([], options).string('from')).toThrow(/not declared/);
  });
});

describe('formatHelp', () => {
  it('prints usage, summary, aligned options and an example', () => {
    expect(formatHelp({ usage: ['eplb rollout start ID --to VERSION', 'eplb rollout undo ID'], summary: 'Starts a rollout.', options, examples: ['eplb rollout start d --to 2'] })).toBe(
      [
        'usage: eplb rollout start ID --to VERSION',
        '       eplb rollout undo ID',
        '',
        'Starts a rollout.',
        '',
        'options:',
        '      --to VERSION     the map version',
        '  -o, --output FORMAT  table or json',
        '      --hold           keep committed layers',
        '',
        'example:',
        '  eplb rollout start d --to 2',
        '',
      ].join('\n'),
    );
  });
});
