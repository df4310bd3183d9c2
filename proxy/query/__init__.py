"""The query layer shared by the logs API and the CLI: parameter parsing into store filters, time parsing, summary and stats shaping, presentation of rows and stream events, export encodings."""
