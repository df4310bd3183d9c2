"""Who may reach what: the Host/Origin policy, the logs API keys, and the paths llmlog answers itself (never forwarded)."""
