"""The logs API over HTTP.

Handlers that parse with proxy.query, read through the store thread and answer JSON, CSV or streams.
"""
