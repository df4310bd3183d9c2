"""Off the request path: from a captured call to a stored entry, and the background tasks.

The bounded call queue, interpreting a captured call into an entry (usage, tokens, cost, scrubbing), the
batched writer with its spill file, the price table as configured, and the background tasks (checkpoints,
retention, price refresh, export jobs).
"""
