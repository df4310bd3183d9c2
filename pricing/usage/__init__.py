"""Reading a call: the request's parameters, the provider's answer (JSON or SSE) into usage by bucket.

Token estimates (tiktoken) stand in when the answer has none.
"""
