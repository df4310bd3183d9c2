"""The installed distribution is one import package, `llmlog` (issue 20): the wheel built from the
repository goes into a fresh virtual environment, and nothing but `llmlog` (and its metadata) lands in
site-packages, with every module and data file of proxy/, store/ and pricing/ inside it.

Offline: the wheel is built with this environment's setuptools (`--no-build-isolation`) and installed
with `--no-deps --no-index`; for the commands run from the fresh environment, the dependencies are
borrowed from this one through a .pth file, which puts them after the fresh site-packages on sys.path.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("proxy", "store", "pricing")
SOURCES = ("pyproject.toml", "README.md", "cli.py", *PACKAGES)  # what a build reads
OLD_NAMES = {*PACKAGES, "cli"}  # the top-level names the tree's modules had before `llmlog`


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kwargs)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (the build writes build/ and egg-info beside them)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, src / name)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", tmp / "dist", src)
    [built] = (tmp / "dist").glob("llmlog-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, Path, set[str]]:
    """(fresh venv, its site-packages, what its site-packages held before the install)."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    before = {p.name for p in purelib.iterdir()}
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)
    return venv, purelib, before


def test_the_wheel_installs_one_top_level_package_llmlog(installed):
    venv, purelib, before = installed
    added = {p.name for p in purelib.iterdir()} - before - {"__pycache__"}
    dist_info = f"llmlog-{_version(purelib)}.dist-info"
    assert added == {"llmlog", dist_info}
    record = (purelib / dist_info / "RECORD").read_text().splitlines()
    tops = {line.split(",")[0].split("/")[0] for line in record}
    assert {t for t in tops if not t.startswith("..")} == {"llmlog", dist_info}  # ../../bin/llmlog: the script
    assert (purelib / dist_info / "top_level.txt").read_text().split() == ["llmlog"]


def test_every_module_and_data_file_of_the_tree_is_in_the_installed_package(installed):
    _, purelib, _ = installed
    package = purelib / "llmlog"
    wanted = {"cli.py"} | {str(p.relative_to(ROOT)) for name in PACKAGES for p in (ROOT / name).rglob("*.py")
                           if "__pycache__" not in p.parts}
    wanted |= {str(p.relative_to(ROOT)) for p in (ROOT / "proxy" / "ui" / "static").rglob("*") if p.is_file()}
    wanted |= {str(p.relative_to(ROOT)) for p in (ROOT / "pricing" / "data").glob("*.toml")}
    found = {str(p.relative_to(package)) for p in package.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    assert sorted(wanted - found) == []
    assert sorted(found - wanted) == []  # no tests, no bench, no stray files
    for name in ("proxy/ui/static/index.html", "proxy/ui/static/favicon.ico",
                 "proxy/ui/static/vendor/uplot/uPlot.esm.js", "pricing/data/openai.toml"):
        assert (package / name).stat().st_size > 0


def test_the_installed_command_runs_from_the_fresh_environment(installed, tmp_path):
    venv, purelib, _ = installed
    # this environment's dependencies, after the fresh site-packages: llmlog itself comes from the wheel
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (purelib / "_borrowed_dependencies.pth").write_text("\n".join(ours) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMLOG_", "PYTHON"))}
    run = {"cwd": tmp_path, "env": {**env, "XDG_DATA_HOME": str(tmp_path / "xdg")}}
    assert _run(venv / "bin" / "llmlog", "--version", **run).stdout == f"llmlog {_version(purelib)}\n"
    # the price table reads pricing/data/*.toml as package data: the layer only those files make
    shown = _run(venv / "bin" / "llmlog", "pricing", "mistral-large-latest", **run).stdout
    assert shown.splitlines()[0].endswith("(rule: exact, correction)")
    where = _run(venv / "bin" / "python", "-c", "import llmlog.proxy.app as app, llmlog.cli as cli, sys; "
                 "print(app.__file__); print(cli.__file__); "
                 "print(sorted(m for m in sys.modules if m.split('.')[0] in {'proxy', 'store', 'pricing', 'cli'}))",
                 **run).stdout.splitlines()
    assert where == [str(purelib / "llmlog" / "proxy" / "app.py"), str(purelib / "llmlog" / "cli.py"), "[]"]


def test_the_editable_install_resolves_llmlog_to_the_repository():
    done = _run(sys.executable, "-c", "import llmlog.proxy.app, llmlog.cli; "
                "print(llmlog.proxy.app.__file__); print(llmlog.cli.__file__)", cwd="/")
    assert done.stdout.splitlines() == [str(ROOT / "proxy" / "app.py"), str(ROOT / "cli.py")]


def test_no_module_imports_the_old_top_level_names():
    """One name per module: `proxy.x` beside `llmlog.proxy.x` would be two copies of one module (two
    sets of web.AppKeys, classes that fail isinstance against each other)."""
    offenders = []
    files = [ROOT / "cli.py", *(p for d in (*PACKAGES, "tests", "bench") for p in (ROOT / d).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in OLD_NAMES]
    assert offenders == []


def _version(purelib: Path) -> str:
    [dist_info] = purelib.glob("llmlog-*.dist-info")
    return dist_info.name.removeprefix("llmlog-").removesuffix(".dist-info")



def test_the_image_is_built_from_what_the_wheel_is_built_from():
    """The Dockerfile copies, and .dockerignore lets through, exactly the sources the wheel above was
    built from; it runs as a user of its own, and its health check asks /healthz."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    copied = {src for line in lines if line.startswith("COPY ") for src in line.split()[1:-1]}
    assert copied == set(SOURCES)
    kept = {line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")}
    assert kept == set(SOURCES)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users == ["llmlog"]
    [check] = [line for line in lines if line.lstrip().startswith("CMD") and "/healthz" in line]
    assert "urlopen" in check and "LLMLOG_PORT" in check


def test_pyproject_lists_every_package_of_the_tree():
    """[tool.setuptools] packages is explicit (the root maps to `llmlog`): a new folder with an
    __init__.py must join it, or the wheel goes without it."""
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    tree = [".".join(("llmlog", *init.parent.relative_to(ROOT).parts))
            for name in PACKAGES for init in (ROOT / name).rglob("__init__.py")]
    assert listed == ["llmlog", *sorted(tree)]
