"""The PostgreSQL the backend-parametrised tests run against: reachable, loopback-only, a fresh
empty database for every test."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.fakes.postgres_server import run_sql

seen_databases: list[str] = []


def test_the_server_answers_and_listens_on_loopback_only(postgres_server, postgres_url):
    assert run_sql(postgres_url, "SELECT 1") == [("1",)]
    assert urlsplit(postgres_url).hostname == "127.0.0.1"
    if postgres_server._stop:  # our own throwaway cluster (not a server named by the environment)
        assert run_sql(postgres_url, "SHOW listen_addresses") == [("127.0.0.1",)]
        assert run_sql(postgres_url, "SHOW fsync") == [("off",)]


def test_each_test_gets_its_own_empty_database(postgres_url):
    name = urlsplit(postgres_url).path.lstrip("/")
    assert run_sql(postgres_url, "SELECT current_database()") == [(name,)]
    assert run_sql(postgres_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [("0",)]
    run_sql(postgres_url, "CREATE TABLE left_behind (x int)")  # the next test must not see it
    assert name not in seen_databases
    seen_databases.append(name)


def test_each_test_gets_its_own_empty_database_again(postgres_url):
    test_each_test_gets_its_own_empty_database(postgres_url)
    earlier = seen_databases[0]  # the previous test's database was dropped when that test ended
    assert run_sql(postgres_url, f"SELECT count(*) FROM pg_database WHERE datname = '{earlier}'") == [("0",)]


def test_a_test_database_is_dropped_when_its_test_ends(postgres_server):
    name, url = postgres_server.create_database()
    postgres_server.drop_database(name)
    assert run_sql(postgres_server.url, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == [("0",)]
