"""The engine: build, load, attach, maps, stats, monitor. Plain Python, no UI imports."""
