export { UsageError } from './usage-error';
export { parseCommandLine, requiredOption, type CommandLine, type OptionSpec, type OptionSpecs } from './command-line';
export { formatHelp, type HelpText } from './help';
