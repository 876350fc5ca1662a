import type { Span } from '../span-model.ts'

/** A span literal for unit tests; override what the test is about. */
export function testSpan(overrides: Partial<Span> = {}): Span {
  return {
    applicationId: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_001_123_456_789n,
    durationNano: 1_000_000_000n,
    statusCode: 1,
    statusMessage: '',
    serviceName: 'support-bot',
    scopeName: 'openai',
    scopeVersion: '1.0.0',
    resourceAttributes: { 'service.name': 'support-bot', 'deployment.environment': 'prod' },
    attributes: {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.user_message': 'Where is my order?',
      'gen_ai.completion.content': 'It ships tomorrow.',
      'gen_ai.usage.input_tokens': 42,
      'gen_ai.prompt': [{ role: 'user', content: 'hi' }],
      nothing: null,
    },
    events: [],
    links: [],
    flags: 1,
    ...overrides,
  }
}
