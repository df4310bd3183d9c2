"""The SQLite backend: one WAL file, one writer connection, FTS5 search, migrations by user_version."""
