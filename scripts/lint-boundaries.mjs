/**
 * `npm run lint:boundaries [PATH...]`: the import rules of .dependency-cruiser.cjs (layering, the
 * lib graph, cycles) over the repository, or over PATHs. Prints each violation as
 * `error <rule>: <from> → <to>` and exits non-zero when there is one.
 *
 * Why a script and not `depcruise`: dependency-cruiser 18's CLI refuses to start on Node 20, which
 * this project supports (engines >= 20.11); its API, called here, runs there. On Node 22+
 * `npx depcruise apps libs test scripts bench migrations` reads the same configuration.
 */
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOTS = ['apps', 'libs', 'test', 'scripts', 'bench', 'migrations'];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const paths = process.argv.slice(2);
const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
const tsConfig = extractTSConfig(options.tsConfig.fileName);
const result = await cruise(paths.length > 0 ? paths : ROOTS, { ...options, outputType: 'err' }, undefined, { tsConfig });
process.stdout.write(String(result.output));
process.exitCode = result.exitCode === 0 ? 0 : 1;
