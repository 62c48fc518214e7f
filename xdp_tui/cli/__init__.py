"""The `xdp-tui` command: a thin argparse layer over the engine, testenv and lessons.

Each domain module exposes `register(subparsers)`; its parsers set
`func=handler` (returning an exit code) and `needs_root=True|False`.
Expected failures are `XdpTuiError`s and print as one located message.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from xdp_tui import __version__
from xdp_tui.cli.output import lab_name
from xdp_tui.errors import XdpTuiError
from xdp_tui.privileges import require_root
from xdp_tui.sweep import sweep_after_killed_runs

# Domain modules, in the order their commands appear in --help.
COMMAND_MODULES = ("doctor", "env", "engine", "observe", "capture", "lessons", "room")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xdp-tui",
        description="A terminal workshop for XDP. Without a command, starts the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"xdp-tui {__version__}")
    parser.add_argument(
        "--lab", type=lab_name, default=None, help="lab to work on in the TUI (default: current)"
    )
    parser.set_defaults(func=_run_tui, needs_root=True)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"xdp_tui.cli.{name}")
        except ModuleNotFoundError as exc:  # a domain still being written
            if exc.name != f"xdp_tui.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def _run_tui(args: argparse.Namespace) -> int:
    from xdp_tui.app import run_app

    return run_app(lab=args.lab)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.needs_root:
            require_root("xdp-tui" if args.func is _run_tui else f"xdp-tui {args.command_name}")
        sweep_after_killed_runs()
        return int(args.func(args) or 0)
    except XdpTuiError as exc:
        print(f"xdp-tui: error: {exc.render()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a defect of ours: one line here, the traceback in the log
        print(f"xdp-tui: internal error: {exc!r} (details: {_log_traceback(exc)})", file=sys.stderr)
        return 70


def _log_traceback(exc: BaseException) -> str:
    """Append EXC's traceback to the log (root-private when root); where it went."""
    import traceback

    from xdp_tui import paths

    try:
        log = paths.log_file()
        log.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(log, flags, 0o600), "a") as out:
            out.write("".join(traceback.format_exception(exc)))
    except (OSError, XdpTuiError):
        return "no log written"
    return str(log)
