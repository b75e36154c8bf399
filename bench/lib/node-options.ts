/** Node options from an environment variable, space-separated (a bench's V8 experiments on a process it starts). */
export const nodeOptionsFromEnv = (name: string): string[] => (process.env[name] ?? '').split(' ').filter(Boolean);
