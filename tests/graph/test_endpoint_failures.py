"""A model endpoint that is down, broken or slow: one line naming it, exit 1, the run kept, resumable.

Real HTTP on 127.0.0.1: a port nobody listens on, a server that answers 500 and one that never
answers in time, then the scripted model behind a real OpenAI-compatible server (`llm.openai_server`)
once the endpoint is "back", which `resume` uses to finish the same run.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from llm.openai_server import OpenAICompatServer
from tests.graph.helpers import DEFAULT_OBJECTIVE, scalar, send_count

pytestmark = [pytest.mark.network_local, pytest.mark.allow_hosts(["127.0.0.1"])]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve(answer: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]) -> Iterator[str]:
    """A chat-completions endpoint on 127.0.0.1 whose every POST is answered by `answer(body)`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status, reply = answer(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            data = json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting (the slow case): nothing to answer
                pass

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _broken(kind: str) -> Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]:
    """Every request answered with HTTP 500, or (`slow`) only after the client gave up."""

    def answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if kind == "slow":
            time.sleep(3)
        return 500, {"error": {"message": "model failed to load: out of memory", "type": "server"}}

    return answer


@contextmanager
def _endpoint(kind: str) -> Iterator[str]:
    if kind == "down":
        yield f"http://127.0.0.1:{_free_port()}/v1"
    else:
        with _serve(_broken(kind)) as url:
            yield url


@pytest.mark.parametrize(
    ("kind", "words"),
    [("down", "cannot be reached"), ("http500", "answered HTTP 500"), ("slow", "did not answer within 1 s")],
)
def test_a_failing_endpoint_is_one_line_and_the_run_resumes_once_it_answers(
    seeded_cdp_path, monkeypatch, kind, words
):
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    monkeypatch.setenv("CDP_AGENTS_MODEL_TIMEOUT_S", "1")
    thread = f"endpoint-{kind}"
    db = str(seeded_cdp_path)
    with _endpoint(kind) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        args = ["run", DEFAULT_OBJECTIVE, "--db", db, "--model", "openai/local", "--approve", "auto"]
        failed = CliRunner().invoke(app, [*args, "--thread", thread, "--json"])
    assert failed.exit_code == 1, failed.output
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: model endpoint {url} {words}"), lines
    assert "Traceback" not in failed.output and f"cdp-agents resume {thread} --db {db}" in lines[0]
    data = json.loads(failed.stdout)
    assert (data["status"], data["detail"], data["thread_id"]) == ("failed", "endpoint", thread)
    assert scalar(seeded_cdp_path, "SELECT status FROM runs WHERE thread_id = ?", [thread]) == "failed"
    assert scalar(seeded_cdp_path, "SELECT count(*) FROM sends") == 0

    with OpenAICompatServer() as server:  # the endpoint is back
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("CDP_AGENTS_MODEL_TIMEOUT_S", "60")
        resumed = CliRunner().invoke(app, ["resume", thread, "--db", db, "--approve", "auto", "--json"])
    assert resumed.exit_code == 0, resumed.output
    done = json.loads(resumed.stdout)
    assert done["status"] == "completed" and done["campaign_id"]
    assert scalar(seeded_cdp_path, "SELECT status FROM runs WHERE thread_id = ?", [thread]) == "completed"
    assert send_count(seeded_cdp_path, done["campaign_id"]) == done["sends"] > 0


@contextmanager
def _server_without_json_schema(seen: list[str]) -> Iterator[str]:
    """The scripted model behind a server that, like llama-cpp-python's, answers 500 to `json_schema`."""
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)
    from llm.openai_server import chat_completion

    def answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        kind = (body.get("response_format") or {}).get("type") or ("tools" if body.get("tools") else "text")
        seen.append(kind)
        if kind == "json_schema":
            return 500, {"error": {"message": "response_format json_schema is not supported"}}
        return 200, chat_completion(body)

    with _serve(answer) as url:
        yield url


def test_a_server_that_refuses_json_schema_gets_the_plan_by_function_calling(seeded_cdp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    seen: list[str] = []
    with _server_without_json_schema(seen) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        args = ["run", DEFAULT_OBJECTIVE, "--db", str(seeded_cdp_path), "--model", "openai/no-schema"]
        done = CliRunner().invoke(app, [*args, "--approve", "auto", "--thread", "no-schema", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["status"] == "completed" and data["sends"] > 0
    # the plan was asked for once with json_schema (refused), then by a forced function call
    assert seen[:2] == ["json_schema", "tools"] and seen.count("json_schema") == 1


def test_a_structured_output_method_can_be_pinned_and_a_bad_one_is_refused(seeded_cdp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    monkeypatch.setenv("CDP_AGENTS_STRUCTURED_OUTPUT", "function_calling")
    seen: list[str] = []
    with _server_without_json_schema(seen) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        args = ["run", DEFAULT_OBJECTIVE, "--db", str(seeded_cdp_path), "--model", "openai/no-schema"]
        done = CliRunner().invoke(app, [*args, "--approve", "auto", "--thread", "pinned", "--json"])
    assert done.exit_code == 0, done.output
    assert "json_schema" not in seen
    monkeypatch.setenv("CDP_AGENTS_STRUCTURED_OUTPUT", "xml")
    bad = CliRunner().invoke(app, [*args, "--thread", "bad-method"])
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines() == [
        "error: CDP_AGENTS_STRUCTURED_OUTPUT=xml: use auto, json_schema, function_calling, json_mode"
    ]


def test_every_call_is_capped_and_the_brief_plan_runs_over_http(seeded_cdp_path, monkeypatch):
    """Real ChatOpenAI against a local endpoint: `max_completion_tokens` on every request, and the
    brief plan asked for with its own (smaller) schema, reaching a completed run."""
    import llm.scripted.roles  # noqa: F401  (registers the scripted answers of every role)
    from llm.openai_server import chat_completion

    bodies: list[dict[str, Any]] = []

    def answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        bodies.append(body)
        return 200, chat_completion(body)

    monkeypatch.setenv("OPENAI_API_KEY", "local")
    monkeypatch.setenv("CDP_AGENTS_MAX_TOKENS", "700")
    monkeypatch.setenv("CDP_AGENTS_PLAN_SCHEMA", "brief")
    with _serve(answer) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        args = ["run", DEFAULT_OBJECTIVE, "--db", str(seeded_cdp_path), "--model", "openai/small"]
        done = CliRunner().invoke(app, [*args, "--approve", "auto", "--thread", "capped", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "completed"
    assert bodies and all(b.get("max_completion_tokens") == 700 for b in bodies)
    plan_schema = bodies[0]["response_format"]["json_schema"]["schema"]
    assert "decision" in plan_schema["properties"] and "tasks" not in plan_schema["properties"]


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "CDP_AGENTS_MAX_TOKENS",
            "lots",
            "error: CDP_AGENTS_MAX_TOKENS must be a whole number of tokens, got 'lots'",
        ),
        ("CDP_AGENTS_MAX_TOKENS", "3", "error: CDP_AGENTS_MAX_TOKENS must be between 16 and 131072, got '3'"),
        ("CDP_AGENTS_TOOL_CALLS", "xml", "error: CDP_AGENTS_TOOL_CALLS=xml: use native or json"),
        ("CDP_AGENTS_PLAN_SCHEMA", "tiny", "error: CDP_AGENTS_PLAN_SCHEMA=tiny: use full or brief"),
    ],
)
def test_a_bad_small_model_setting_is_one_line_and_exit_2(name, value, line, seeded_cdp_path, monkeypatch):
    monkeypatch.setenv(name, value)
    bad = CliRunner().invoke(app, ["run", DEFAULT_OBJECTIVE, "--db", str(seeded_cdp_path)])
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines() == [line]
