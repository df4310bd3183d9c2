"""The upstream client: llmlog's keep-alive pool of HTTP/1.1 connections parsing with httptools (the
default), or aiohttp's ClientSession for egress proxies (`upstream.client`); bytes passed through as sent."""
