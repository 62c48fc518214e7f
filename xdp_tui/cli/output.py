"""Shared output helpers for CLI handlers."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(data: Any) -> None:
    """One JSON document per call, on one line, flushed (so streams can be piped)."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def add_command(sub: Any, name: str, handler: Any, *, help: str, needs_root: bool = True) -> Any:
    """Add a subcommand whose handler(args) -> int runs after the root check."""
    parser = sub.add_parser(name, help=help, description=help)
    parser.set_defaults(func=handler, needs_root=needs_root, command_name=name)
    return parser
