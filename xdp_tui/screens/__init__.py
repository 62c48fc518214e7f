"""Screens and modals of the workshop app."""
