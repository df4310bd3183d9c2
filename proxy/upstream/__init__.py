"""The upstream client: a keep-alive pool of HTTP/1.1 connections to providers, bytes passed through as sent."""
