"""`llmlog serve --workers N`: the supervisor, each worker's part, and one SQLite writer for all."""
