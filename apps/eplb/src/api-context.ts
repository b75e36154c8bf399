import type { ApiClient } from '@eplb/api-client';
import { CommandGroup, runGroup } from './command-group';
import { Output, outputFor } from './output';

/** What a verb that talks to the API gets: the client, and how to print (table or -o json). */
export interface ApiContext {
  readonly api: ApiClient;
  readonly out: Output;
}

export const runApiGroup = (g: CommandGroup<ApiContext>, argv: readonly string[], api: ApiClient): Promise<number> =>
  runGroup(g, argv, (t) => process.stdout.write(t), (line, verb) => ({ api, out: verb.rawOutput ? RAW : outputFor(line) }));

/** For verbs that print a file's own text: they never show a view. */
const RAW: Output = {
  show() {
    throw new Error('this verb prints raw text, not a view');
  },
};
