"""Nothing outside a store backend holds a driver or a backend module (DESIGN §1): the proxy, the
pipeline, the API and the CLI reach the store only through `store.interface.Store`."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVERS = {"sqlite3", "aiosqlite", "psycopg", "psycopg_pool", "asyncpg"}
BACKENDS = ("llmlog.store.sqlite", "llmlog.store.postgres")
CHOOSER = ROOT / "store" / "backends.py"  # the one place that picks a backend by its location


def _imports(path: pathlib.Path) -> set[str]:
    names: set[str] = set()
    package = ".".join(("llmlog", *path.relative_to(ROOT).with_suffix("").parts[:-1]))  # as imported
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _outside_backends() -> list[pathlib.Path]:
    files = [ROOT / "cli.py", *ROOT.glob("proxy/**/*.py"), *ROOT.glob("pricing/**/*.py"), *ROOT.glob("store/*.py")]
    return [f for f in files if f != CHOOSER]


def test_no_driver_or_backend_module_outside_the_backends():
    offenders = {}
    for path in _outside_backends():
        bad = sorted(n for n in _imports(path)
                     if n.split(".")[0] in DRIVERS or n.startswith(BACKENDS))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_the_check_sees_a_relative_import_of_a_backend(tmp_path, monkeypatch):
    """The guard can fail: a relative import reaching into a backend is named."""
    sneaky = ROOT / "store" / "_sneaky_probe.py"
    sneaky.write_text("from .sqlite import db\nimport sqlite3\n")
    try:
        assert {"llmlog.store.sqlite.db", "sqlite3"} <= _imports(sneaky)
    finally:
        sneaky.unlink()
