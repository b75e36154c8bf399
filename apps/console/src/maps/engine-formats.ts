import type { MapFormat } from '@eplb/domain';

/** The engine formats a map version exports to (the console takes only types from the domain, so the names are listed here). */
export const ENGINE_FORMATS = ['vllm-ascend', 'sglang', 'trtllm', 'eplb'] as const satisfies readonly MapFormat[];

// a format the domain gains and this list lacks fails the typecheck here
type Unlisted = Exclude<MapFormat, (typeof ENGINE_FORMATS)[number]>;
export const EVERY_FORMAT_LISTED: [Unlisted] extends [never] ? true : never = true;

/** The file a format is saved as: YAML for TensorRT-LLM, JSON for the others. */
export const fileOf = (format: (typeof ENGINE_FORMATS)[number]): { ext: string; type: string } => (format === 'trtllm' ? { ext: 'yaml', type: 'application/yaml' } : { ext: 'json', type: 'application/json' });
