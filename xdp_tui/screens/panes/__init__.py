"""The workshop screen's panes: one module per feature, each owning its workers and messages.

See `xdp_tui.screens.main` for how they are put together and registered.
"""
