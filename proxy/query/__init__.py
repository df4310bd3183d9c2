"""The query layer shared by the logs API and the CLI: parameter parsing into store filters, time parsing, presentation of rows, export encodings."""
