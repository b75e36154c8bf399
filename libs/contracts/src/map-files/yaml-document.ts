import { Document, isScalar, isSeq, parse, visit } from 'yaml';
import { invalid } from '@eplb/domain';

/**
 * A YAML map file's text as a plain document; a syntax error becomes a DomainError naming
 * `input` with the parser's first line (it says where), as a JSON syntax error does.
 */
export function readYamlDocument(text: string): unknown {
  try {
    return parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw invalid('input', `is not valid YAML (${first})`);
  }
}

/**
 * A document as YAML the way engines' own tools write map files (TensorRT-LLM's generator
 * `yaml.dump`s them): lists of numbers in flow style on one line, layer ids as integer keys
 * (`3:`, not `'3':`, since TensorRT-LLM reads `Dict[int, List[int]]`), no line folding.
 */
export function writeYamlDocument(doc: unknown): string {
  const d = new Document(doc);
  visit(d, {
    Pair(_, pair) {
      if (isScalar(pair.key) && typeof pair.key.value === 'string' && /^(0|[1-9]\d{0,14})$/.test(pair.key.value)) pair.key.value = Number(pair.key.value);
    },
    Seq(_, seq) {
      if (isSeq(seq) && seq.items.every((i) => isScalar(i))) seq.flow = true;
    },
  });
  return d.toString({ flowCollectionPadding: false, lineWidth: 0 });
}
