"""Peer proxies for `bench.run --peers`: the LiteLLM proxy and the Portkey OSS gateway.

Each is installed once into a cache directory (`$LLMLOG_BENCH_CACHE`, default ~/.cache/llmlog-bench),
reused across runs, started pinned to the proxy core and pointed at the bench's fake upstream. A peer
that cannot be installed or started is left out with one line saying why; the bench goes on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from .procs import Server

CACHE = os.environ.get("LLMLOG_BENCH_CACHE", os.path.expanduser("~/.cache/llmlog-bench"))
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 90
# @hono/node-server 1.19 (what the gateway's range resolves to today) turns the gateway's streamed answers
# into "TypeError: immutable" (every stream fails with 500); the gateway's own repository pins 1.13.5
# (patches/@hono+node-server+1.13.5.patch), with which streams work
PORTKEY_PACKAGE = {"private": True, "dependencies": {"@portkey-ai/gateway": "^1.15.2"},
                   "overrides": {"@hono/node-server": "1.13.5"}}


class PeerUnavailable(Exception):
    pass


def _run(argv: list[str], cwd: str | None = None, timeout_s: float = INSTALL_TIMEOUT_S) -> None:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PeerUnavailable(f"{' '.join(argv[:3])}…: {e}") from e
    if done.returncode:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PeerUnavailable(f"{' '.join(argv[:3])}… exited {done.returncode}: {last[0]}")


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def last_log_line(path: str) -> str:
    """': <the last line of a server's log>' (colours stripped), or '' without one."""
    try:
        with open(path, "rb") as f:
            lines = [line for line in f.read()[-4000:].decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return ": " + ANSI.sub("", lines[-1]).strip()[:300] if lines else ""


# -- LiteLLM ------------------------------------------------------------------------------------
def _litellm_install() -> tuple[str, str]:
    venv = os.path.join(CACHE, "litellm-venv")
    exe = os.path.join(venv, "bin", "litellm")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(exe):
        os.makedirs(CACHE, exist_ok=True)
        _run([sys.executable, "-m", "venv", venv])
        _run([python, "-m", "pip", "install", "-q", "litellm[proxy]"])
    version = subprocess.run([python, "-c", "import importlib.metadata as m, platform; "
                              "print(m.version('litellm'), 'Python', platform.python_version())"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    return exe, version  # "1.108.7 Python 3.11.7"


def start_litellm(tmp: str, upstream: str, port: int, core: int) -> tuple[Server, str, dict]:
    exe, version = _litellm_install()
    config = os.path.join(tmp, "litellm.yaml")
    with open(config, "w") as f:  # JSON is YAML: one model, the fake upstream as an OpenAI-compatible base
        json.dump({"model_list": [{"model_name": "gpt-4o-mini", "litellm_params": {
            "model": "openai/gpt-4o-mini", "api_base": upstream + "/v1", "api_key": "sk-bench-not-a-real-key"}}],
            "litellm_settings": {"telemetry": False}}, f)
    # no database (DATABASE_URL unset: LiteLLM refuses an empty one), no logging callbacks in the config
    env: dict[str, str | None] = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "DATABASE_URL": None,
           # no master key: the bench sends a dummy bearer token, as to the other targets
           "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true"}
    server = Server("litellm", ["--config", config, "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
                    port, core, "/health/liveliness", env=env, log_dir=tmp, exe=exe, ready_s=START_TIMEOUT_S)
    return server, version, {}


# -- Portkey ------------------------------------------------------------------------------------
def _portkey_install() -> tuple[str, str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise PeerUnavailable("node and npm are not on PATH")
    where = os.path.join(CACHE, "portkey")
    script = os.path.join(where, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js")
    package = os.path.join(where, "package.json")
    wanted = json.dumps(PORTKEY_PACKAGE, indent=2)
    if not os.path.exists(script) or not os.path.exists(package) or open(package).read() != wanted:
        os.makedirs(where, exist_ok=True)
        with open(package, "w") as f:
            f.write(wanted)
        _run([npm, "install", "--no-audit", "--no-fund"], cwd=where)
    with open(os.path.join(where, "node_modules", "@portkey-ai", "gateway", "package.json")) as f:
        version = json.load(f)["version"]
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return node, script, f"{version} node {node_version}"


def start_portkey(tmp: str, upstream: str, port: int, core: int) -> tuple[Server, str, dict]:
    node, script, version = _portkey_install()
    # the gateway refuses private custom hosts unless trusted; --headless: no web console
    env = {"TRUSTED_CUSTOM_HOSTS": "127.0.0.1,localhost", "NODE_ENV": "production"}
    server = Server("portkey", [script, f"--port={port}", "--headless"], port, core, "/", env=env, log_dir=tmp,
                    exe=node, ready_s=START_TIMEOUT_S)
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream + "/v1"}
    return server, version, headers


PEERS = {"litellm": start_litellm, "portkey": start_portkey}
