"""Widgets of the workshop screen, one domain per module."""
