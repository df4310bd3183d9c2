"""The query layer shared by the logs API and the CLI.

Parameter parsing into store filters, time parsing, summary and stats shaping, presentation of rows and
stream events, export encodings.
"""
