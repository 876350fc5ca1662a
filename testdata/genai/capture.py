"""Captures the OTLP payloads real Python instrumentations of the `openai` client send.

Runs, on loopback only:
  - a fake OpenAI-compatible chat server (plain and streaming completions, a tool call
    when the request offers tools and has no tool result yet);
  - a capture endpoint for OTLP/HTTP protobuf (`POST /v1/traces`, `POST /v1/logs`) that
    writes each request body to <out>/<scenario>/<signal>-<n>.binpb, plus a JSON rendering;
  - one child process per scenario (instrumentation and content mode), which instruments
    the `openai` client and makes the same three conversations.

Usage: python capture.py [--out DIR] [--scenario NAME ...]
       python capture.py --send-to http://127.0.0.1:4318 --header "Authorization=Bearer KEY" --scenario openllmetry
         (live: the instrumented calls export straight to that OTLP/HTTP endpoint, nothing is written)
Needs the packages of requirements.txt (see README.md). Exits non-zero when a scenario
fails or sends no spans, so a broken instrumentation is never a silent empty capture.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The conversations every scenario makes (the tests assert these texts).
SYSTEM = "You are a terse geography assistant."
QUESTION_PLAIN = "What is the capital of France?"
ANSWER_PLAIN = "Paris is the capital of France."
QUESTION_STREAM = "What is the capital of Italy?"
ANSWER_STREAM = "Rome is the capital of Italy."
QUESTION_TOOL = "What is the weather in Paris?"
TOOL_ARGUMENTS = '{"city": "Paris"}'
TOOL_RESULT = '{"temperature_c": 18, "sky": "cloudy"}'
ANSWER_TOOL = "It is 18 degrees and cloudy in Paris."
MODEL_REQUEST = "gpt-4o-mini"
MODEL_RESPONSE = "gpt-4o-mini-2024-07-18"

# Scenario name -> (instrumentation, extra environment).
SCENARIOS = {
    # openai-v2 on the v1.30 conventions: content as per-message events (OTLP log records).
    "openai-v2-events-legacy": ("openai-v2", {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}),
    # The latest conventions as opentelemetry-util-genai writes them (the library openai-v2 2.4+
    # emits them through; openai-v2 2.4b0 itself does not import against the util-genai on PyPI).
    "util-genai-span-only": (
        "util-genai",
        {
            "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only",
        },
    ),
    "util-genai-event-only": (
        "util-genai",
        {
            "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "event_only",
        },
    ),
    "openinference": ("openinference", {}),
    "openllmetry": ("openllmetry", {"TRACELOOP_TRACE_CONTENT": "true"}),
    # OpenLLMetry 0.40.14 (its own venv: requirements-openllmetry-indexed.txt): the indexed
    # gen_ai.prompt.N.* / gen_ai.completion.N.* attributes. Only captured when named.
    "openllmetry-indexed": ("openllmetry", {"TRACELOOP_TRACE_CONTENT": "true"}),
}
# Scenarios a run without --scenario captures (the rest need another venv).
DEFAULT_SCENARIOS = [name for name in SCENARIOS if name != "openllmetry-indexed"]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


# --- The fake OpenAI server -------------------------------------------------------------


def completion_for(request):
    """What the fake model answers: (content, tool_calls)."""
    messages = request.get("messages", [])
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    has_tool_result = any(m.get("role") == "tool" for m in messages)
    if request.get("tools") and not has_tool_result:
        return None, [
            {
                "id": "call_weather_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS},
            }
        ]
    if has_tool_result:
        return ANSWER_TOOL, None
    if last_user.get("content") == QUESTION_STREAM:
        return ANSWER_STREAM, None
    return ANSWER_PLAIN, None


class FakeOpenAI(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_error(404)
            return
        content, tool_calls = completion_for(body)
        finish = "tool_calls" if tool_calls else "stop"
        usage = {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}
        base = {"id": "chatcmpl-fake-1", "created": 1767225600, "model": MODEL_RESPONSE}
        if not body.get("stream"):
            message = {"role": "assistant", "content": content}
            if tool_calls:
                message["tool_calls"] = tool_calls
            payload = dict(base, object="chat.completion", usage=usage,
                           choices=[{"index": 0, "message": message, "finish_reason": finish}])
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        chunks = [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
        if content:
            words = content.split(" ")
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                chunks.append({"index": 0, "delta": {"content": piece}, "finish_reason": None})
        for i, call in enumerate(tool_calls or []):
            chunks.append({"index": 0, "delta": {"tool_calls": [dict(call, index=i)]}, "finish_reason": None})
        chunks.append({"index": 0, "delta": {}, "finish_reason": finish})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for choice in chunks:
            event = dict(base, object="chat.completion.chunk", choices=[choice])
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            event = dict(base, object="chat.completion.chunk", choices=[], usage=usage)
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")


# --- The OTLP capture endpoint ----------------------------------------------------------


class Capture:
    def __init__(self, out):
        self.out = out
        self.scenario = None
        self.counts = {}
        self.lock = threading.Lock()


def capture_handler(capture):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signal = {"/v1/traces": "traces", "/v1/logs": "logs", "/v1/metrics": "metrics"}.get(self.path)
            if signal and signal != "metrics" and capture.scenario:
                with capture.lock:
                    key = (capture.scenario, signal)
                    n = capture.counts.get(key, 0)
                    capture.counts[key] = n + 1
                    folder = os.path.join(capture.out, capture.scenario)
                    os.makedirs(folder, exist_ok=True)
                    with open(os.path.join(folder, f"{signal}-{n}.binpb"), "wb") as f:
                        f.write(body)
                    with open(os.path.join(folder, f"{signal}-{n}.json"), "w") as f:
                        f.write(render_json(signal, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def render_json(signal, body):
    from google.protobuf.json_format import MessageToJson

    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest as R
    else:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest as R
    message = R()
    message.ParseFromString(body)
    return MessageToJson(message, indent=1) + "\n"


def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- The instrumented client (child process) ---------------------------------------------


def run_client(instrumentation, openai_url, otlp_url, headers):
    from opentelemetry import _logs, trace
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    resource = Resource.create({"service.name": f"genai-capture-{instrumentation}"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_url}/v1/traces", headers=headers))
    )
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{otlp_url}/v1/logs", headers=headers))
    )
    _logs.set_logger_provider(logger_provider)
    try:  # the event API moved between SDK versions; openai-v2's legacy mode still uses it
        from opentelemetry import _events
        from opentelemetry.sdk._events import EventLoggerProvider

        _events.set_event_logger_provider(EventLoggerProvider(logger_provider))
    except ImportError:
        pass

    if instrumentation == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif instrumentation == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif instrumentation == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif instrumentation != "util-genai":
        raise SystemExit(f"unknown instrumentation {instrumentation}")

    import openai

    client = openai.OpenAI(base_url=f"{openai_url}/v1", api_key="sk-fake", max_retries=0, timeout=10)
    if instrumentation == "util-genai":
        client = UtilGenAiClient(client, tracer_provider, logger_provider)
    client.chat.completions.create(
        model=MODEL_REQUEST,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION_PLAIN}],
    )
    stream = client.chat.completions.create(
        model=MODEL_REQUEST,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION_STREAM}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    first = client.chat.completions.create(
        model=MODEL_REQUEST, tools=TOOLS, messages=[{"role": "user", "content": QUESTION_TOOL}]
    )
    call = first.choices[0].message.tool_calls[0]
    client.chat.completions.create(
        model=MODEL_REQUEST,
        tools=TOOLS,
        messages=[
            {"role": "user", "content": QUESTION_TOOL},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": call.id, "type": "function",
                     "function": {"name": call.function.name, "arguments": call.function.arguments}}
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT},
        ],
    )
    tracer_provider.force_flush()
    logger_provider.force_flush()
    tracer_provider.shutdown()
    logger_provider.shutdown()


class UtilGenAiClient:
    """An `openai` client whose chat calls report through opentelemetry-util-genai's handler."""

    def __init__(self, client, tracer_provider, logger_provider):
        from opentelemetry.util.genai.handler import TelemetryHandler

        self.handler = TelemetryHandler(tracer_provider=tracer_provider, logger_provider=logger_provider)
        self.client = client
        self.chat = self
        self.completions = self

    def create(self, **request):
        from opentelemetry.util.genai import types as t

        def parts_of(message):
            parts = []
            if message.get("content"):
                if message["role"] == "tool":
                    parts.append(t.ToolCallResponsePart(response=message["content"], id=message.get("tool_call_id")))
                else:
                    parts.append(t.TextPart(content=message["content"]))
            for call in message.get("tool_calls") or []:
                parts.append(t.ToolCallRequestPart(
                    name=call["function"]["name"], id=call["id"], arguments=json.loads(call["function"]["arguments"])))
            return parts

        with self.handler.inference("openai", request_model=request["model"], server_address="127.0.0.1") as inv:
            data = inv.data
            data.system_instructions = [t.TextPart(content=m["content"]) for m in request["messages"] if m["role"] == "system"]
            data.input_messages = [t.InputMessage(role=m["role"], parts=parts_of(m))
                                   for m in request["messages"] if m["role"] != "system"]
            data.tool_definitions = [t.FunctionToolDefinition(name=d["function"]["name"], description=d["function"]["description"],
                                                              parameters=d["function"]["parameters"]) for d in request.get("tools", [])]
            response = self.client.chat.completions.create(**request)
            if request.get("stream"):
                content, usage, model, finish = "", None, None, None
                for chunk in response:
                    model = chunk.model
                    usage = chunk.usage or usage
                    for choice in chunk.choices:
                        content += choice.delta.content or ""
                        finish = choice.finish_reason or finish
                message = {"role": "assistant", "content": content}
                result = iter(())
            else:
                choice = response.choices[0]
                message = choice.message.model_dump()
                content, usage, model, finish = choice.message.content, response.usage, response.model, choice.finish_reason
                result = response
            data.output_messages = [t.OutputMessage(role="assistant", parts=parts_of(message), finish_reason=finish)]
            data.response_model = model
            data.response_finish_reasons = [finish]
            data.usage_input_tokens = usage.prompt_tokens
            data.usage_output_tokens = usage.completion_tokens
        return result


# --- Driver -------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--send-to", help="export live to this OTLP/HTTP base URL instead of capturing")
    parser.add_argument("--header", action="append", default=[], help="KEY=VALUE header for --send-to")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--openai-url", help=argparse.SUPPRESS)
    parser.add_argument("--otlp-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    headers = dict(h.split("=", 1) for h in args.header)
    if args.client:
        run_client(args.client, args.openai_url, args.otlp_url, headers)
        return

    capture = Capture(args.out)
    fake = serve(FakeOpenAI)
    collector = None if args.send_to else serve(capture_handler(capture))
    openai_url = f"http://127.0.0.1:{fake.server_address[1]}"
    otlp_url = args.send_to.rstrip("/") if args.send_to else f"http://127.0.0.1:{collector.server_address[1]}"
    failed = []
    for name in args.scenario or DEFAULT_SCENARIOS:
        instrumentation, extra = SCENARIOS[name]
        folder = os.path.join(args.out, name)
        if not args.send_to and os.path.isdir(folder):
            for f in os.listdir(folder):
                os.remove(os.path.join(folder, f))
        capture.scenario = name
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_"))}
        env.update(extra)
        env["OTEL_SEMCONV_STABILITY_OPT_IN"] = extra.get("OTEL_SEMCONV_STABILITY_OPT_IN", "")
        started = time.monotonic()
        header_args = [a for h in args.header for a in ("--header", h)]
        result = subprocess.run(
            [sys.executable, __file__, "--client", instrumentation, "--openai-url", openai_url, "--otlp-url", otlp_url,
             *header_args],
            env=env, timeout=args.timeout, capture_output=True, text=True,
        )
        spans = capture.counts.get((name, "traces"), 0)
        logs = capture.counts.get((name, "logs"), 0)
        print(f"{name}: exit {result.returncode}, {spans} trace and {logs} log requests, "
              f"{time.monotonic() - started:.1f}s", flush=True)
        if result.returncode != 0 or (spans == 0 and not args.send_to):
            print(result.stderr[-4000:], file=sys.stderr)
            failed.append(name)
    capture.scenario = None
    fake.shutdown()
    if collector:
        collector.shutdown()
    if failed:
        raise SystemExit(f"failed scenarios: {', '.join(failed)}")


if __name__ == "__main__":
    main()
