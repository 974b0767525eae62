"""`make studio`: serve the orchestrator to LangGraph Studio with `langgraph dev`, offline.

Studio is a hosted web page that talks to a local API server; `langgraph dev` is that server. This
module starts it the same way for a person (`python -m cli.studio`) and for the end-to-end test
(`start_server` / `stop_server`): no analytics, no version check, no browser, no reloader, on a
port it picks, and ready only once the server it started answers `/ok`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Annotated, NamedTuple

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
STUDIO_ORIGIN = "https://smith.langchain.com"
#: Keeps `langgraph dev` off the network: no usage analytics, no PyPI version check.
OFFLINE_ENV = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "1"}
#: Where `langgraph dev` keeps its threads and runs (relative to its working folder; git-ignored).
STATE_DIR = ".langgraph_api"
SEED_CUSTOMERS = 10_000
SEED = 42
BIND_ATTEMPTS = 3

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: The server announces the address it really listens on; it moves to another port if ours is taken.
_ANNOUNCED_API = re.compile(r"API:\s*(https?://[^\s]+)")


class StudioStartError(RuntimeError):
    """The dev server exited or never became ready; the message ends with its last log lines."""


class StudioServer(NamedTuple):
    """A running `langgraph dev` and the base URL of its API (what Studio and the SDK talk to)."""

    process: subprocess.Popen[str]
    base_url: str


def studio_url(base_url: str) -> str:
    """The hosted Studio page, pointed at a local API server."""
    return f"{STUDIO_ORIGIN}/studio/?baseUrl={base_url}"


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now (the server still checks, and may move if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def write_server_config(workdir: Path, project_root: Path = PROJECT_ROOT) -> Path:
    """Write the `langgraph.json` the server reads: the project's, with absolute paths and no `env`.

    Paths are made absolute so the server can run in any folder (its `.langgraph_api/` lands there).
    `env` is dropped because `langgraph dev` would let `.env` override the environment it is given;
    the caller decides the environment instead (`serve` loads `.env` under it, the test does not).
    """
    source = project_root / "langgraph.json"
    if not source.is_file():
        raise StudioStartError(f"no langgraph.json in {project_root}: run from the project's checkout")
    config = json.loads(source.read_text())
    config["dependencies"] = [str((project_root / dep).resolve()) for dep in config.get("dependencies", [])]
    graphs = {}
    for name, spec in config["graphs"].items():
        path, _, variable = spec.rpartition(":")
        graphs[name] = f"{(project_root / path).resolve()}:{variable}"
    config["graphs"] = graphs
    config["env"] = {}
    target = workdir / STATE_DIR / "langgraph.studio.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(config, indent=2))
    return target


def _get_ok(base_url: str) -> bool:
    # No proxy: the server is on loopback, and a configured HTTP proxy must not intercept the probe.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url}/ok", timeout=2) as response:
            return response.status == 200 and json.loads(response.read()).get("ok") is True
    except (OSError, ValueError):
        return False


def _pump(stream, sink: Callable[[str], None], tail: deque[str], announced: list[str]) -> None:
    """Copy the server's output to `sink`, keep a tail for error messages, note the announced URL."""
    for line in stream:
        # Keep draining even when the sink fails (a closed terminal or pipe): a server whose output
        # pipe fills up would block.
        with suppress(Exception):
            sink(line)
        tail.append(line)
        if not announced and (match := _ANNOUNCED_API.search(_ANSI.sub("", line))):
            announced.append(match.group(1).rstrip("/"))


def start_server(
    *,
    port: int | None = None,
    workdir: Path = PROJECT_ROOT,
    env: Mapping[str, str] | None = None,
    log: Callable[[str], None] | None = None,
    timeout_s: float = 60.0,
) -> StudioServer:
    """Start `langgraph dev` on 127.0.0.1 and return it once the server it started answers `/ok`.

    `env` is the server's whole environment (default: this process's); CDP_AGENTS_DB, CDP_NOW, MODEL
    and OPENAI_API_KEY there decide which CDP, clock and model Studio runs use. `log` receives every
    line the server prints (default: this process's stdout). The server runs in its own process
    group so `stop_server` can stop it with anything it spawned.
    """
    if importlib.util.find_spec("langgraph_cli") is None:
        raise StudioStartError("langgraph-cli is not installed: run `make studio` or pip install -e '.[dev]'")
    config = write_server_config(workdir)
    server_env = {**(os.environ if env is None else env), **OFFLINE_ENV, "PYTHONUNBUFFERED": "1"}
    sink = log or (lambda line: print(line, end="", flush=True))
    for attempt in range(1, BIND_ATTEMPTS + 1):
        try:
            return _start_once(config, port or free_port(), workdir, server_env, sink, timeout_s)
        except StudioStartError as exc:
            # The server checks its port before binding; another process can take it in between.
            if port or attempt == BIND_ATTEMPTS or "address already in use" not in str(exc).lower():
                raise
    raise AssertionError("unreachable")


def _start_once(
    config: Path,
    port: int,
    workdir: Path,
    env: Mapping[str, str],
    sink: Callable[[str], None],
    timeout_s: float,
) -> StudioServer:
    command = [sys.executable, "-m", "langgraph_cli", "dev", "--config", str(config)]
    command += ["--host", HOST, "--port", str(port), "--no-browser", "--no-reload"]
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    tail: deque[str] = deque(maxlen=40)
    announced: list[str] = []
    threading.Thread(
        target=_pump, args=(process.stdout, sink, tail, announced), name="studio-log", daemon=True
    ).start()
    try:
        return StudioServer(process, _wait_ready(process, announced, tail, timeout_s))
    except BaseException:
        # Not ready, or Ctrl-C while starting: never leave a server behind.
        stop_server(process)
        raise


def _wait_ready(
    process: subprocess.Popen[str], announced: list[str], tail: deque[str], timeout_s: float
) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            time.sleep(0.2)  # let the pump thread copy the last lines
            raise StudioStartError(f"langgraph dev exited with code {process.returncode}:\n{''.join(tail)}")
        # Probe only the address the server announced: it moves off a taken port without failing,
        # and whatever holds our port then is not our server.
        if announced and _get_ok(announced[0]):
            return announced[0]
        time.sleep(0.1)
    raise StudioStartError(f"langgraph dev was not ready after {timeout_s:.0f} s:\n{''.join(tail)}")


def stop_server(process: subprocess.Popen[str], timeout_s: float = 15.0) -> None:
    """Stop the server and its process group: SIGINT (uvicorn's clean shutdown), then SIGKILL."""
    group = process.pid  # start_new_session made the server the leader of its own group
    for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
    # Anything the server spawned and left behind in its group goes too.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    if process.poll() is None:
        process.wait(5.0)


def ensure_cdp(path: str | Path, customers: int = SEED_CUSTOMERS) -> bool:
    """Seed a synthetic CDP at `path` when no file is there yet; True when it seeded one."""
    if Path(path).exists():
        return False
    from cdp.atomic_seed import seed_file

    seed_file(path, customers=customers, seed=SEED)
    return True


def _load_settings(project_root: Path) -> str:
    """Load `.env` under the environment, as `cdp-agents` does; say where the settings came from."""
    from dotenv import load_dotenv

    from cli.envfile import NO_DOTENV_ENV, dotenv_path

    dotenv = dotenv_path(project_root)
    if dotenv is not None:
        load_dotenv(dotenv, override=False)
        return str(dotenv)
    if os.environ.get(NO_DOTENV_ENV):
        return f"no .env read ({NO_DOTENV_ENV} is set)"
    return "no .env (copy .env.example to .env to change the model or the CDP file)"


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve(port: int = 0, customers: int = SEED_CUSTOMERS) -> None:
    """Start Studio's server for this project and keep it up until Ctrl-C (or SIGTERM)."""
    settings = _load_settings(PROJECT_ROOT)
    from cdp.db import default_db_path, open_cdp
    from cdp.errors import CdpError
    from cli.settings import check_settings_or_exit
    from graph.context import Context

    check_settings_or_exit()

    db_path = Path(default_db_path()).resolve()
    os.environ["CDP_AGENTS_DB"] = str(db_path)  # absolute, so it names the same file for the server
    try:
        if ensure_cdp(db_path, customers):
            print(f"Seeded a CDP with {customers:,} customers at {db_path}.", flush=True)
        open_cdp(db_path, create=False).conn.close()  # a foreign file is refused before the server starts
    except CdpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    model = Context().model
    # The server has its own process group, so a terminal's Ctrl-C reaches only this process; a
    # SIGTERM stops it the same way.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server = start_server(port=port or None)
    except StudioStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if port and not server.base_url.endswith(f":{port}"):
        print(f"Port {port} is taken: the server moved to {server.base_url}.", flush=True)
    print(
        "\nLangGraph Studio is ready (graph 'cdp_agents').\n"
        f"  Studio:    {studio_url(server.base_url)}\n"
        f"  Local API: {server.base_url}  (docs: {server.base_url}/docs)\n"
        f"  CDP:       {db_path}\n"
        f"  Model:     {model}\n"
        f"  Settings:  {settings}\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        code = server.process.wait()
    except KeyboardInterrupt:
        code = None
    finally:
        # Stop the server before anything else (printing can fail when the terminal is gone), and let
        # no second Ctrl-C cut the stop short: stop_server escalates to SIGKILL by itself.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        stop_server(server.process)
    if code is not None:
        print(f"error: the server exited with code {code}", file=sys.stderr)
        raise typer.Exit(1)
    with suppress(OSError):
        print("\nStopped the server.", flush=True)


def studio(
    port: Annotated[int, typer.Option("--port", help="Port for the local API (0 = pick a free one).")] = 0,
    customers: Annotated[
        int, typer.Option("--customers", min=1, help="Customers to seed when the CDP file is missing.")
    ] = SEED_CUSTOMERS,
) -> None:
    """Serve the orchestrator to LangGraph Studio (offline `langgraph dev`), seeding the CDP if missing."""
    serve(port, customers)


def register(app: typer.Typer) -> None:
    """Add `studio` to the `cdp-agents` app."""
    app.command("studio")(studio)


if __name__ == "__main__":
    typer.run(studio)
