"""llmlog's one process (DESIGN §1), wired in app.py.

The request path, the upstream client, the pipeline, the query layer, the logs API, the CLI and the page.
"""
