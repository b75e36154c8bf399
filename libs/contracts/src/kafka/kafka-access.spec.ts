import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../topics';
import { agentGroup, CONSUMER_GROUPS, rolloutGroup } from './consumer-groups';
import { KAFKA_ACCESS, KAFKA_PRINCIPALS, topicSpecsFor } from './kafka-access';

/** The README's table, rendered from KAFKA_ACCESS. */
function accessTable(): string {
  const list = (xs: readonly string[]) => (xs.length ? xs.map((x) => `\`${x}\``).join(', ') : '—');
  const rows = KAFKA_PRINCIPALS.map((p) => {
    const g = KAFKA_ACCESS[p];
    const groups = g.groups.map((x) => `${x.name('<prefix>')}${x.pattern === 'prefixed' ? '*' : ''}`);
    return `| \`${p}\` | ${g.who} | ${list(g.write)} | ${list(g.read)} | ${list(groups)} |`;
  });
  return ['| principal | who | writes | reads | consumer groups |', '|---|---|---|---|---|', ...rows].join('\n');
}

describe('the Kafka access table', () => {
  it('is what the README shows', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
    const shown = /<!-- kafka-access:begin -->\n([\s\S]*?)\n<!-- kafka-access:end -->/.exec(readme)?.[1];
    expect(shown).toBe(accessTable());
  });

  it('lets only workers write heat, only the rollout service write commands, only agents write acks', () => {
    const writers = (topic: string) => KAFKA_PRINCIPALS.filter((p) => KAFKA_ACCESS[p].write.some((t) => t === topic));
    expect(writers(TOPICS.heat)).toEqual(['worker']);
    expect(writers(TOPICS.rolloutCommands)).toEqual(['rollout']);
    expect(writers(TOPICS.rolloutAcks)).toEqual(['agent']);
  });

  it("grants the groups the apps name: each group id falls under its principal's grant", () => {
    const granted = (p: keyof typeof KAFKA_ACCESS, group: string) =>
      KAFKA_ACCESS[p].groups.some((g) => (g.pattern === 'prefixed' ? group.startsWith(g.name('eplb')) : group === g.name('eplb')));
    expect(granted('collector', CONSUMER_GROUPS.collector('eplb'))).toBe(true);
    expect(granted('agent', agentGroup('eplb', 'dep', 3))).toBe(true);
    expect(granted('rollout', rolloutGroup('eplb', 'instance-1'))).toBe(true);
    expect(granted('agent', rolloutGroup('eplb', 'instance-1'))).toBe(false);
  });

  it('has each app ensure only the topics it uses', () => {
    expect(topicSpecsFor('collector', 8)).toEqual([
      { topic: TOPICS.heat, partitions: 8 },
      { topic: TOPICS.heatDeadLetter, partitions: 1 },
    ]);
    expect(topicSpecsFor('rollout', 8).map((s) => s.topic)).toEqual([TOPICS.rolloutCommands, TOPICS.rolloutAcks]);
  });
});
