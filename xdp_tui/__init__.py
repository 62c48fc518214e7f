"""xdp-tui: a terminal workshop for XDP (lessons, build, load, attach, live counters, checks)."""

__version__ = "0.1.0"
