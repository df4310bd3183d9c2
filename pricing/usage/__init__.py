"""Reading a call: the request's parameters, the provider's answer (JSON or SSE) into usage by bucket, and token estimates (tiktoken) when the answer has none."""
