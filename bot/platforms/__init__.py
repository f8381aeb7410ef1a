"""Chat platforms and other sinks."""
