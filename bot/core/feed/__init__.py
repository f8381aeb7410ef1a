"""Feed stage: bytes to entries (parse) and entries to items (normalize, urls, html)."""
