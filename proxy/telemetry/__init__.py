"""Metrics and traces of calls: Prometheus at /metrics and an optional OpenTelemetry export, fed by the pipeline."""
