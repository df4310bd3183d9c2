"""The request path: route, forward bytes unchanged, hand the captured call to the pipeline.

Route by prefix, read control headers, forward bytes unchanged, tee a bounded copy, hand the captured call
to the pipeline. Never parses beyond routing, never awaits the store.
"""
