"""The architecture of DESIGN §1, guarded.

The request path never touches the database, tokenizes or prices (issue 7 acceptance 3): the route
handler runs inside a context variable; every database entry point (sqlite3 statements via a trace
callback, StoreThread.run, write_batch), tokenizer and pricing function records whether it ran
inside that context. Proxied JSON and streamed calls must leave only records from outside the
handler (the pipeline), and some of each.

The layers (issue 17): no import cycle among the project's modules; the CLI never loads the HTTP
layer (`serve` alone imports the app, inside its command); store/ and pricing/ import nothing of
the proxy or of each other.
"""

from __future__ import annotations

import ast
import asyncio
import contextvars
import os
import pathlib
import sqlite3
import subprocess
import sys
from dataclasses import dataclass

import pytest

import llmlog.pricing.prices.cost
import llmlog.pricing.usage.estimate
import llmlog.pricing.usage.read
import llmlog.proxy.app
import llmlog.store.runner
import llmlog.store.sqlite.writer
from llmlog.proxy.forward.handler import Forwarder
from llmlog.proxy.state import PIPELINE
from tests.conftest import chat_body as chat
from tests.conftest import flushed

CHAT = "/v1/chat/completions"
IN_HANDLER: contextvars.ContextVar[bool] = contextvars.ContextVar("in_handler", default=False)
GUARDED = [(llmlog.pricing.usage.read, "parse_response"), (llmlog.pricing.usage.read, "parse_request"),
           (llmlog.pricing.prices.cost, "compute_cost"),
           (llmlog.pricing.usage.estimate, "estimate_usage"), (llmlog.pricing.usage.estimate, "count_text_tokens"),
           (llmlog.store.sqlite.writer, "write_batch")]


class Calls:
    """(name, ran inside the handler) for every guarded call."""

    def __init__(self):
        self.seen: list[tuple[str, bool]] = []

    def record(self, name: str) -> None:
        self.seen.append((name, IN_HANDLER.get()))

    def inside(self) -> list[str]:
        return sorted({name for name, inside in self.seen if inside})

    def outside(self) -> set[str]:
        return {name for name, inside in self.seen if not inside}


def _wrap_everywhere(monkeypatch, module, name: str, calls: Calls) -> None:
    """Replace a function in its module and in every module that imported it by name."""
    original = getattr(module, name)

    def guarded(*args, **kwargs):
        calls.record(name)
        return original(*args, **kwargs)

    for mod in list(sys.modules.values()):
        if getattr(mod, "__dict__", {}).get(name) is original:
            monkeypatch.setattr(mod, name, guarded)


@pytest.fixture
def calls(monkeypatch):
    calls = Calls()
    for module, name in GUARDED:
        _wrap_everywhere(monkeypatch, module, name, calls)

    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        calls.record("sqlite3.connect")
        conn = real_connect(*args, **kwargs)
        # runs on the thread executing each statement; a handler awaiting to_thread would carry its context
        conn.set_trace_callback(lambda sql: calls.record("sqlite3 statement"))
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)

    real_run = llmlog.store.runner.StoreThread.run

    async def run(self, fn):
        calls.record("StoreThread.run")
        return await real_run(self, fn)

    monkeypatch.setattr(llmlog.store.runner.StoreThread, "run", run)

    real_forward = llmlog.proxy.app.forward

    async def forward(request):
        token = IN_HANDLER.set(True)
        try:
            return await real_forward(request)
        finally:
            IN_HANDLER.reset(token)

    monkeypatch.setattr(llmlog.proxy.app, "forward", forward)  # make_app registers the module-level handler
    return calls


async def _proxied_calls(client) -> None:
    json_resp = await client.post(CHAT, data=chat("plain json call"))
    assert json_resp.status == 200 and (await json_resp.json())["usage"]["total_tokens"] > 0
    # a stream without usage: the pipeline must estimate tokens with the tokenizer
    streamed = await client.post(CHAT, data=chat("stream me", stream=True))
    assert b"data: [DONE]" in await streamed.read()
    with_usage = await client.post(CHAT, data=chat("stream with usage", stream=True,
                                                   stream_options={"include_usage": True}))
    assert b'"usage":{' in await with_usage.read()
    dnt = await client.post(CHAT, data=chat("not tracked"), headers={"x-debug": "false"})
    assert dnt.status == 200
    await flushed(client)


async def test_handler_path_does_no_database_tokenizing_or_pricing(calls, make_proxy):
    client = await make_proxy()
    await _proxied_calls(client)
    assert calls.inside() == []
    # the guards saw the work happen, in the pipeline
    assert calls.outside() >= {"parse_response", "parse_request", "compute_cost", "estimate_usage",
                               "count_text_tokens", "write_batch", "sqlite3 statement",
                               "StoreThread.run"}
    entries = (await (await client.get("/v1/logs")).json())["logs"]
    assert sorted(e["usage_source"] for e in entries) == ["estimated", "provider", "provider", "provider"]


async def test_the_guard_catches_a_handler_that_awaits_the_database(calls, make_proxy, monkeypatch, db_path):
    """The guard itself can fail: a handler that awaits a query in a thread is caught."""
    original = Forwarder.handle

    async def handle(self, request):
        await asyncio.to_thread(lambda: sqlite3.connect(db_path).execute("SELECT 1").fetchall())
        return await original(self, request)

    monkeypatch.setattr(Forwarder, "handle", handle)
    client = await make_proxy()
    assert (await client.post(CHAT, data=chat("leaky"))).status == 200
    await flushed(client)
    assert calls.inside() == ["sqlite3 statement", "sqlite3.connect"]


async def test_a_full_queue_still_keeps_parsing_and_pricing_off_the_handler(calls, make_proxy, monkeypatch):
    client = await make_proxy(store__queue_size=1, store__batch_interval_ms=1)
    pipeline = client.app[PIPELINE]
    gate = asyncio.Event()
    real_write = pipeline._write

    async def stalled_write(entries):
        await gate.wait()
        await real_write(entries)

    monkeypatch.setattr(pipeline, "_write", stalled_write)
    for i in range(4):  # one in the writer, one queued, the rest find the queue full
        assert (await client.post(CHAT, data=chat(f"call {i}"))).status == 200
    gate.set()
    await flushed(client)
    assert calls.inside() == []


# ---- layers: what imports what ------------------------------------------------------------------

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("proxy", "store", "pricing")
PREFIX = "llmlog."  # the repository's root is the import package `llmlog` (pyproject.toml)
HTTP_LAYER = ("llmlog.proxy.api", "llmlog.proxy.app", "aiohttp.web")


@dataclass(frozen=True, slots=True)
class Import:
    target: str  # a dotted name: a module, or `package.name` for `from package import name`
    at_load: bool  # runs when the module is loaded: not in a function, not under `if TYPE_CHECKING`


def _project_modules(root: pathlib.Path, packages=PACKAGES, files=("cli.py",),
                     prefix=PREFIX) -> dict[str, tuple[pathlib.Path, bool]]:
    """Dotted name (as imported: `llmlog.proxy.app`) -> (file, is a package's __init__)."""
    modules = {prefix + pathlib.Path(f).stem: (root / f, False) for f in files}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            modules[prefix + ".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _area(name: str, prefix: str = PREFIX) -> str:
    """The top folder of a project module (`llmlog.store.rows` -> `store`), or an outside module's top name."""
    return name.removeprefix(prefix).split(".")[0]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: pathlib.Path, is_package: bool) -> list[Import]:
    """Every import statement of a module, function-level and TYPE_CHECKING ones included."""
    found: list[Import] = []
    package = name if is_package else name.rpartition(".")[0]

    def visit(node: ast.AST, at_load: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, at_load) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            base = (f"{base}.{node.module}" if node.module else base) if node.level else node.module or ""
            found.append(Import(base, at_load))
            found.extend(Import(f"{base}.{alias.name}", at_load) for alias in node.names)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, at_load)
            return
        inner = at_load and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(), str(path)), True)
    return found


def _loaded(target: str) -> list[str]:
    """What importing `target` loads, as Python does it: each package on the way (its __init__),
    then the module itself."""
    parts = target.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _graph(root: pathlib.Path = ROOT, packages=PACKAGES, files=("cli.py",), *, prefix: str = PREFIX,
           at_load_only: bool = False) -> dict[str, set[str]]:
    """Module -> the modules it imports (project modules, and outside ones by their dotted name).

    An import of `a.b.c` is an edge to `a`, `a.b` and `a.b.c`: their __init__ files run first. The
    importer's own packages are left out (they are loaded before it), as is `from p import name`
    when `name` is no module."""
    modules = _project_modules(root, packages, files, prefix)
    project = {m.removeprefix(prefix).split(".")[0] for m in modules}
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        own = set(_loaded(name)) if is_package else set(_loaded(name)[:-1])
        edges: set[str] = set()
        for imp in _imports(name, path, is_package):
            if at_load_only and not imp.at_load:
                continue
            if not (imp.target.startswith(prefix) and _area(imp.target, prefix) in project):
                edges.add(imp.target)  # outside the project: kept by name (aiohttp.web, pricing.x)
                continue
            edges.update(m for m in _loaded(imp.target) if m in modules and m not in own and m != name)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) for each group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def strong(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return [_a_cycle(graph, group) for group in groups]


def _a_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & group):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    raise AssertionError("a strongly connected group always holds a cycle")


def test_no_import_cycle_among_the_modules():
    assert [" -> ".join(cycle) for cycle in _cycles(_graph())] == []


def test_the_cycle_check_sees_type_checking_function_level_and_package_init_imports(tmp_path):
    """The check can fail: each of these cycles goes through an import it must not overlook."""
    files = {
        "a/__init__.py": "",
        "a/types.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a.user import User\n",
        "a/user.py": "def f():\n    from .types import T\n",
        "b/__init__.py": "from c.main import run\n",
        "b/core.py": "X = 1\n",
        "c/__init__.py": "",
        "c/main.py": "from b.core import X\n",  # b.core runs b/__init__ first, which imports c.main
        "d/__init__.py": "",
        "d/free.py": "import a.types\nfrom b import core\n",  # no cycle here
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    cycles = sorted(" -> ".join(c) for c in _cycles(_graph(tmp_path, ("a", "b", "c", "d"), (), prefix="")))
    assert cycles == ["a.types -> a.user -> a.types", "b -> c.main -> b"]


def _reach(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module `start` loads, each with the one that imported it first (to show the chain)."""
    via: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, ())):
            if w not in via and w != start:
                via[w] = v
                queue.append(w)
    return via


def _chain(via: dict[str, str], start: str, end: str) -> str:
    chain = [end]
    while chain[-1] != start:
        chain.append(via[chain[-1]])
    return " -> ".join(reversed(chain))


def _http_layer(name: str) -> bool:
    return any(name == layer or name.startswith(layer + ".") for layer in HTTP_LAYER)


def test_no_cli_module_loads_the_http_layer_when_imported():
    """Statically: what cli.py and each proxy/cli module import when loaded (not inside a function,
    where `serve` imports the app) never reaches proxy.api, proxy.app or aiohttp.web."""
    graph = _graph(at_load_only=True)
    chains = []
    for start in sorted(m for m in graph if m == "llmlog.cli" or m.startswith("llmlog.proxy.cli")):
        via = _reach(graph, start)
        chains += [_chain(via, start, m) for m in sorted(via) if _http_layer(m)]
    assert chains == []
    assert "aiohttp.web" in _reach(graph, "llmlog.proxy.app")  # the check sees the layer where it is


def test_store_and_pricing_import_nothing_of_the_proxy_or_of_each_other():
    """store/ is the narrow interface under everything; pricing/ is pure functions: neither reaches
    up into proxy/, and the store keeps bodies as stored (SSE is split in proxy/query/)."""
    allowed = {"store": "store", "pricing": "pricing"}
    offenders = sorted(f"{module} -> {target}" for module, targets in _graph().items()
                       for target in targets
                       if _area(module) in allowed and target.startswith(PREFIX) and _area(target) in PACKAGES
                       and _area(target) != allowed[_area(module)])
    assert offenders == []


CLI_PROBE = """
import sys
from click.testing import CliRunner
{preload}
from llmlog import cli
for args in (["logs", "--db", sys.argv[1]], ["summary", "--db", sys.argv[1]]):
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
print(" ".join(sorted(m for m in sys.modules if any(m == layer or m.startswith(layer + ".")
                                                    for layer in {layers!r}))))
"""


def _cli_loads(db: str, preload: str = "") -> list[str]:
    """The HTTP-layer modules loaded after `llmlog logs` and `llmlog summary` ran in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMLOG_")}
    done = subprocess.run([sys.executable, "-c", CLI_PROBE.format(preload=preload, layers=HTTP_LAYER), db],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_cli_never_loads_the_http_layer(tmp_path):
    from llmlog.store.backends import open_store

    db = str(tmp_path / "llmlog.db")
    open_store(db, create=True).close()
    assert _cli_loads(db) == []
    # the probe can fail: a CLI that pulled in the app would show it
    loaded = set(_cli_loads(db, preload="import llmlog.proxy.app"))
    assert {"llmlog.proxy.app", "llmlog.proxy.api.logs", "aiohttp.web"} <= loaded


LIFECYCLE_HOOKS = {"cleanup_ctx", "on_startup", "on_shutdown", "on_cleanup"}


def _hooks_touched(path: pathlib.Path) -> list[str]:
    return sorted({node.attr for node in ast.walk(ast.parse(path.read_text(), str(path)))
                   if isinstance(node, ast.Attribute) and node.attr in LIFECYCLE_HOOKS})


def test_lifecycle_contexts_are_listed_in_app_py_alone():
    """app.py lists every lifecycle context in the order they run; no route or pipeline module
    registers one behind its back."""
    touched = {name: _hooks_touched(path) for name, (path, _) in _project_modules(ROOT).items()}
    registered = {name: hooks for name, hooks in touched.items() if hooks}
    assert registered == {"llmlog.proxy.app": ["cleanup_ctx", "on_shutdown"]}
