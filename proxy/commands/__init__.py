"""The CLI's commands, one module per concern; `cli.py` only assembles them."""
