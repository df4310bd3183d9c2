"""The logs page at /ui: static HTML, CSS and JS over the public logs API (no private endpoints)."""
