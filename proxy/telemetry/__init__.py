"""Metrics and traces of calls: Prometheus at /metrics, and an optional OpenTelemetry export, both fed by the pipeline."""
