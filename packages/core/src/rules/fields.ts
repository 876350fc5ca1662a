/**
 * What a predicate's `field` names, and what is known of its type: the built-in span
 * fields, the semantic aliases, and the attribute keys of the conventions spansift knows
 * (GenAI semantic conventions, OpenInference, OpenLLMetry, HTTP), so a predicate that
 * compares a number with a string is refused when the rule is loaded. Attributes not
 * listed here are typed by the operand at run time (a comparison with a value of another
 * JSON type is false).
 */
import { SpanKind, StatusCode } from '../span-model.ts'
import { type AliasName, isSemanticAlias } from './semantic-fields.ts'

/**
 * The type known for a field. `text`: a string, or messages recorded as a JSON structure
 * (matched by the text operators through their JSON text); `array`: a list (only
 * exists/missing apply); `enum`: one of a closed set of names.
 */
export type FieldType = 'string' | 'number' | 'boolean' | 'text' | 'array' | 'enum' | 'unknown'

export interface BuiltInField {
  type: 'string' | 'number' | 'enum'
  /** enum fields: name → the code stored in the span and the `spans` column. */
  codes?: Readonly<Record<string, number>>
}

/** The built-in span fields of predicates. Every one is always present. */
export const PREDICATE_BUILT_INS = {
  'span.name': { type: 'string' },
  'span.kind': { type: 'enum', codes: SpanKind },
  'span.status': { type: 'enum', codes: StatusCode },
  'span.status_message': { type: 'string' },
  'span.duration_ms': { type: 'number' },
  'service.name': { type: 'string' },
  'scope.name': { type: 'string' },
  'scope.version': { type: 'string' },
  'trace.id': { type: 'string' },
  'span.id': { type: 'string' },
  'span.parent_id': { type: 'string' },
} as const satisfies Record<string, BuiltInField>

export type BuiltInName = keyof typeof PREDICATE_BUILT_INS

export function isBuiltIn(name: string): name is BuiltInName {
  return Object.hasOwn(PREDICATE_BUILT_INS, name)
}

/** Names that look like built-ins (mapping paths have them) but that predicates refuse, and why. */
const REFUSED_BUILT_INS: Record<string, string> = {
  'span.duration_ns': 'write span.duration_ms (a number of milliseconds) in a predicate',
  'span.start_time': 'span times are not predicate fields: a backfill takes its time range separately',
  'span.end_time': 'span times are not predicate fields: a backfill takes its time range separately',
  'application.id': 'a rule is already scoped to its application',
}

/** Known attribute types, by key (span and resource attributes alike). */
export const KNOWN_ATTRIBUTE_TYPES: Readonly<Record<string, Exclude<FieldType, 'enum' | 'unknown'>>> = {
  // GenAI semantic conventions
  'gen_ai.operation.name': 'string',
  'gen_ai.provider.name': 'string',
  'gen_ai.system': 'string',
  'gen_ai.request.model': 'string',
  'gen_ai.response.model': 'string',
  'gen_ai.response.id': 'string',
  'gen_ai.conversation.id': 'string',
  'gen_ai.agent.id': 'string',
  'gen_ai.agent.name': 'string',
  'gen_ai.agent.description': 'string',
  'gen_ai.tool.name': 'string',
  'gen_ai.tool.type': 'string',
  'gen_ai.tool.description': 'string',
  'gen_ai.tool.call.id': 'string',
  'gen_ai.output.type': 'string',
  'gen_ai.data_source.id': 'string',
  'gen_ai.token.type': 'string',
  'gen_ai.usage.input_tokens': 'number',
  'gen_ai.usage.output_tokens': 'number',
  'gen_ai.usage.prompt_tokens': 'number',
  'gen_ai.usage.completion_tokens': 'number',
  'gen_ai.usage.cache_read.input_tokens': 'number',
  'gen_ai.usage.cache_creation.input_tokens': 'number',
  'gen_ai.request.max_tokens': 'number',
  'gen_ai.request.temperature': 'number',
  'gen_ai.request.top_p': 'number',
  'gen_ai.request.top_k': 'number',
  'gen_ai.request.frequency_penalty': 'number',
  'gen_ai.request.presence_penalty': 'number',
  'gen_ai.request.seed': 'number',
  'gen_ai.request.choice.count': 'number',
  'gen_ai.response.finish_reasons': 'array',
  'gen_ai.request.stop_sequences': 'array',
  'gen_ai.request.encoding_formats': 'array',
  'gen_ai.input.messages': 'text',
  'gen_ai.output.messages': 'text',
  'gen_ai.system_instructions': 'text',
  'gen_ai.tool.definitions': 'text',
  'gen_ai.tool.call.arguments': 'text',
  'gen_ai.tool.call.result': 'text',
  'gen_ai.prompt': 'text',
  'gen_ai.completion': 'text',
  // OpenInference
  'openinference.span.kind': 'string',
  'input.value': 'text',
  'output.value': 'text',
  'input.mime_type': 'string',
  'output.mime_type': 'string',
  'llm.model_name': 'string',
  'llm.provider': 'string',
  'llm.system': 'string',
  'llm.invocation_parameters': 'text',
  'llm.token_count.prompt': 'number',
  'llm.token_count.completion': 'number',
  'llm.token_count.total': 'number',
  'embedding.model_name': 'string',
  'tool.name': 'string',
  'session.id': 'string',
  'user.id': 'string',
  // OpenLLMetry
  'traceloop.span.kind': 'string',
  'traceloop.entity.name': 'string',
  'traceloop.workflow.name': 'string',
  'traceloop.entity.input': 'text',
  'traceloop.entity.output': 'text',
  'llm.request.model': 'string',
  'llm.response.model': 'string',
  'llm.request.type': 'string',
  'llm.usage.total_tokens': 'number',
  'llm.is_streaming': 'boolean',
  // HTTP and general
  'http.request.method': 'string',
  'http.response.status_code': 'number',
  'http.status_code': 'number',
  'http.method': 'string',
  'url.full': 'string',
  'server.address': 'string',
  'server.port': 'number',
  'error.type': 'string',
  'exception.type': 'string',
  'exception.message': 'string',
  'exception.stacktrace': 'string',
  'exception.escaped': 'boolean',
  'service.version': 'string',
  'service.namespace': 'string',
  'deployment.environment': 'string',
  'deployment.environment.name': 'string',
  'telemetry.sdk.name': 'string',
  'telemetry.sdk.language': 'string',
  'telemetry.sdk.version': 'string',
}

/** Keys typed by their shape: the indexed message forms. */
const KNOWN_ATTRIBUTE_PATTERNS: ReadonlyArray<readonly [RegExp, Exclude<FieldType, 'enum' | 'unknown'>]> = [
  [/^gen_ai\.(prompt|completion)\.\d+\.(content|role)$/, 'string'],
  [/^llm\.(input|output)_messages\.\d+\.message\.(content|role)$/, 'string'],
]

// Structured aliases are `text`: the text operators match their JSON text.
const ALIAS_TYPES: Record<AliasName, FieldType> = {
  input: 'text',
  output: 'text',
  input_text: 'string',
  output_text: 'string',
  system: 'string',
  tools: 'text',
  prompt_variables: 'text',
  model: 'string',
  response_model: 'string',
}

/** The type known for an attribute key, 'unknown' when spansift knows nothing of it. */
export function attributeType(key: string): FieldType {
  if (Object.hasOwn(KNOWN_ATTRIBUTE_TYPES, key)) return KNOWN_ATTRIBUTE_TYPES[key]!
  for (const [pattern, type] of KNOWN_ATTRIBUTE_PATTERNS) if (pattern.test(key)) return type
  return 'unknown'
}

/** What a span field path names. */
export type FieldRef =
  | { kind: 'built-in'; name: BuiltInName }
  | { kind: 'alias'; name: AliasName }
  /** `attributes`/`resource`: one source; `span-then-resource`: a bare key. */
  | { kind: 'attribute'; source: 'attributes' | 'resource' | 'span-then-resource'; key: string }
  | { kind: 'refused'; message: string }

/** Classifies a field of a span predicate (outside an event's `where`). */
export function classifyField(path: string): FieldRef {
  const syntax = pathProblem(path)
  if (syntax) return { kind: 'refused', message: syntax }
  if (path.startsWith('attributes.')) return { kind: 'attribute', source: 'attributes', key: path.slice(11) }
  if (path.startsWith('resource.')) return { kind: 'attribute', source: 'resource', key: path.slice(9) }
  if (isBuiltIn(path)) return { kind: 'built-in', name: path }
  const refused = Object.hasOwn(REFUSED_BUILT_INS, path) ? REFUSED_BUILT_INS[path] : undefined
  if (refused) return { kind: 'refused', message: `${path} is not a predicate field: ${refused}` }
  if (path.startsWith('span.')) {
    const names = Object.keys(PREDICATE_BUILT_INS).filter((n) => n.startsWith('span.'))
    return {
      kind: 'refused',
      message: `unknown built-in field "${path}": the span fields are ${names.join(', ')} (an attribute named ${path} is attributes.${path})`,
    }
  }
  if (isSemanticAlias(path)) return { kind: 'alias', name: path }
  return { kind: 'attribute', source: 'span-then-resource', key: path }
}

/** Classifies a field inside an event's `where`: a key of the event's attributes. */
export function classifyEventField(path: string): FieldRef {
  const syntax = pathProblem(path)
  if (syntax) return { kind: 'refused', message: syntax }
  if (isBuiltIn(path) || path.startsWith('span.')) {
    return {
      kind: 'refused',
      message: `inside event.where, field names an event attribute; ${path} is a span field: test it outside the event`,
    }
  }
  return { kind: 'attribute', source: 'attributes', key: path }
}

/** The known type of a classified field. */
export function fieldType(ref: FieldRef): FieldType {
  switch (ref.kind) {
    case 'built-in':
      return PREDICATE_BUILT_INS[ref.name].type
    case 'alias':
      return ALIAS_TYPES[ref.name]
    case 'attribute':
      return attributeType(ref.key)
    case 'refused':
      return 'unknown'
  }
}

function pathProblem(path: string): string | undefined {
  if (path === '') return 'field must not be empty'
  if (path.length > 500) return 'field is longer than 500 characters'
  if (path.split('.').includes(''))
    return `field "${path}" has an empty segment (a leading, trailing or double dot)`
  if (hasLoneSurrogate(path)) return 'field contains an unpaired UTF-16 surrogate'
  return undefined
}

/** True when a string holds a UTF-16 surrogate without its pair (not storable as UTF-8). */
export function hasLoneSurrogate(text: string): boolean {
  return !text.isWellFormed()
}
