"""llmlog's one process: the request path, the upstream client, the pipeline, the query layer, the logs API, the CLI and the page (DESIGN §1), wired in app.py."""
