"""The pure core: parse, normalize, match, cluster, render, lookup. No I/O, no clock, no globals."""
