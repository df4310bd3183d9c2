"""Who may reach what: the Host/Origin policy, the logs API keys.

Also the paths llmlog answers itself (never forwarded).
"""
