"""A PostgreSQL server for the tests, and a fresh empty database per test.

`LLMLOG_TEST_POSTGRES_URL` (a superuser's, or one that may CREATE DATABASE) names a server to use;
without it a throwaway cluster is started once per test session: initdb into a temporary
directory, listening on 127.0.0.1 only on a free port, trust authentication, fsync off, stopped and
deleted when the session ends. initdb refuses to run as root, so as root the cluster is run by the
`postgres` system user (Debian's package creates it) through runuser/su.

When no server can be had the tests that need one skip, saying why; with CI=true they fail instead,
so CI never passes by skipping the PostgreSQL half of the suite.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

URL_ENV = "LLMLOG_TEST_POSTGRES_URL"
CLUSTER_USER = "postgres"  # the system user that runs the cluster when the tests run as root


class Unavailable(Exception):
    """No PostgreSQL server can be used; the message says why."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str):
    """Skip the test asking for PostgreSQL, or fail it in CI, where it must run."""
    if in_ci():
        pytest.fail(f"PostgreSQL is required when CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def find_bin_dir() -> str | None:
    """The directory holding initdb and pg_ctl: the newest /usr/lib/postgresql/N/bin, else PATH's."""
    def version(path: str) -> float:
        try:
            return float(path.split("/")[-2])
        except ValueError:
            return 0.0
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if all(os.access(os.path.join(candidate, tool), os.X_OK) for tool in ("initdb", "pg_ctl")):
            return candidate
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return os.path.dirname(os.path.realpath(initdb))
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def run_sql(url: str, statement: str) -> list[tuple]:
    """Run one statement with autocommit (CREATE/DROP DATABASE cannot run in a transaction):
    through psycopg when it is installed, else through psql."""
    try:
        import psycopg
    except ImportError:
        psql = _psql()
        if psql is None:
            raise Unavailable("neither psycopg nor psql is installed to talk to the server") from None
        done = subprocess.run([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", statement],
                              capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"psql {statement!r}: {done.stderr.strip()}") from None  # not psycopg's absence
        return [tuple(line.split("|")) for line in done.stdout.splitlines() if line]
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        cur = conn.execute(statement)
        return [tuple(str(v) for v in row) for row in cur.fetchall()] if cur.description else []


def _psql() -> str | None:
    bin_dir = find_bin_dir()
    if bin_dir and os.access(os.path.join(bin_dir, "psql"), os.X_OK):
        return os.path.join(bin_dir, "psql")
    return shutil.which("psql")


class PostgresServer:
    """A server the tests may create databases on: `url` is its maintenance database's URL."""

    def __init__(self, url: str, stop=None):
        self.url, self._stop = url, stop
        self._names = itertools.count()
        self._prefix = "llmlog_test_" + uuid.uuid4().hex[:8]

    def create_database(self) -> tuple[str, str]:
        name = f"{self._prefix}_{next(self._names)}"
        run_sql(self.url, f'CREATE DATABASE "{name}"')
        return name, with_database(self.url, name)

    def drop_database(self, name: str) -> None:
        run_sql(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._stop:
            self._stop()
            self._stop = None


class Cluster:
    """A throwaway cluster in a temporary directory, run as `user` (None: as ourselves)."""

    def __init__(self, bin_dir: str, user: str | None, *, durable: bool = False):
        """`durable`: commits are acknowledged only once in the WAL (PostgreSQL's default), for a
        test that crashes the server and counts what survived; otherwise speed over safety."""
        self.bin_dir, self.user, self.durable = bin_dir, user, durable
        self.root = tempfile.mkdtemp(prefix="llmlog-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = 0

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [os.path.join(self.bin_dir, argv[0]), *argv[1:]]
        if self.user:
            if shutil.which("runuser"):
                command = ["runuser", "-u", self.user, "--", *command]
            else:
                command = ["su", self.user, "-s", "/bin/sh", "-c", " ".join(_quote(a) for a in command)]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root,
                              stdin=subprocess.DEVNULL)

    def start(self) -> str:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)
        done = self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                         "--locale=C", "--no-sync")
        if done.returncode:
            raise Unavailable(f"initdb failed: {(done.stderr or done.stdout).strip()[-500:]}")
        last = ""
        for _ in range(5):  # a free port can be taken between asking and binding: try another
            self.port = free_port()
            done = self._pg_ctl_start()
            if done.returncode == 0:
                return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
            last = (done.stderr or done.stdout).strip() + "\n" + self._log_tail()
        raise Unavailable(f"pg_ctl start failed: {last[-800:]}")

    def _pg_ctl_start(self) -> subprocess.CompletedProcess:
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root}"
                   " -c fsync=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB"
                   + ("" if self.durable else " -c synchronous_commit=off"))
        return self._run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l",
                         os.path.join(self.root, "server.log"), "-o", options)

    def pause(self) -> None:
        """Stop the server as a crash would (immediate), keeping its data, for a fault test."""
        done = self._run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w", timeout=60)
        if done.returncode:
            raise RuntimeError(f"pg_ctl stop failed: {done.stderr or done.stdout}")

    def resume(self) -> None:
        """Start the paused server again on the same port (its clients reconnect to the same URL)."""
        done = self._pg_ctl_start()
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            with open(os.path.join(self.root, "server.log")) as log:
                return log.read()[-600:]
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            if os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self._run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _quote(arg: str) -> str:
    import shlex
    return shlex.quote(arg)


def start_server() -> PostgresServer:
    """The server named by LLMLOG_TEST_POSTGRES_URL, or a throwaway cluster; raises Unavailable."""
    url = os.environ.get(URL_ENV)
    if url:
        try:
            run_sql(url, "SELECT 1")
        except Unavailable:
            raise
        except Exception as e:
            raise Unavailable(f"{URL_ENV} is set but the server does not answer: {e}") from e
        return PostgresServer(url)
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise Unavailable("initdb/pg_ctl not found (install Debian's postgresql, or set "
                          f"{URL_ENV} to a server's URL)")
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(CLUSTER_USER)
        except KeyError:
            raise Unavailable(f"running as root, and initdb refuses root, but there is no {CLUSTER_USER!r} "
                              "user to run the cluster as") from None
        if not shutil.which("runuser") and not shutil.which("su"):
            raise Unavailable("running as root, and neither runuser nor su can start the cluster as another user")
        user = CLUSTER_USER
    cluster = Cluster(bin_dir, user)
    try:
        url = cluster.start()
        deadline = time.monotonic() + 30
        while True:  # pg_ctl -w has seen the server accept; make sure our client gets in too
            try:
                run_sql(url, "SELECT 1")
                break
            except Unavailable:
                raise
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    except BaseException:
        cluster.stop()
        raise
    return PostgresServer(url, stop=cluster.stop)


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server (skips, or fails under CI=true, when none can be had)."""
    try:
        server = start_server()
    except Unavailable as e:
        unavailable(str(e))
    except Exception as e:  # anything unforeseen while starting it is as much a reason
        unavailable(f"{type(e).__name__}: {e}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a fresh, empty database on the session's server, dropped after the test."""
    name, url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
