"""The click commands cli.py mounts: serve, and the read and maintenance commands that open the store directly."""
