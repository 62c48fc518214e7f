"""The `xdp-tui` command: a thin argparse layer over the engine, testenv and lessons.

Each domain module exposes `register(subparsers)`; its parsers set
`func=handler` (returning an exit code) and `needs_root=True|False`.
Expected failures are `XdpTuiError`s and print as one located message.

Start-up is kept short because the instructor's room runs `xdp-tui progress
--all-users --json` on every learner VM every few seconds (issue 16): a
command line naming a known command builds only its domain's parsers, and
modules are imported where they are used, not at the top of this one.
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

# Domain modules, in the order their commands appear in --help.
COMMAND_MODULES = ("doctor", "env", "engine", "observe", "capture", "lessons", "room")

# Which domain module registers each command, so that `xdp-tui progress` imports
# and builds the lessons parsers only. A command missing here still works (the
# full parser is built); tests/foundation/test_cli_startup.py keeps this complete.
COMMAND_MODULE = {
    "doctor": "doctor",
    "env": "env",
    **dict.fromkeys(("build", "load", "unload", "status", "clean"), "engine"),
    **dict.fromkeys(("stats", "monitor", "trace", "samples"), "observe"),
    **dict.fromkeys(("capture", "run"), "capture"),
    **dict.fromkeys(("lessons", "check", "progress", "hint", "diff", "workspace"), "lessons"),
    "room": "room",
}

# Options of the top-level parser that take a value (skipped when finding the command).
_TOP_OPTIONS_WITH_VALUE = ("--lab",)


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser with the commands of MODULES (default: all, as --help shows them)."""
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
    for name in COMMAND_MODULES if modules is None else modules:
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


def modules_for(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The domain modules ARGV needs: its command's alone, else all of them.

    All of them whenever the command is not plainly known: top-level help, a
    typo (argparse then lists every command), no command (the TUI) or an option
    before the command that this scan does not know (None: all).
    """
    tokens = iter(argv)
    for token in tokens:
        if token in _TOP_OPTIONS_WITH_VALUE:
            next(tokens, None)  # its value, whatever it says
        elif token.split("=", 1)[0] in _TOP_OPTIONS_WITH_VALUE:
            continue
        elif token in COMMAND_MODULE:
            return (COMMAND_MODULE[token],)
        else:
            break
    return None


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(modules_for(argv))
    args = parser.parse_args(argv)
    try:
        if args.needs_root:
            require_root("xdp-tui" if args.func is _run_tui else f"xdp-tui {args.command_name}")
        from xdp_tui.sweep import sweep_after_killed_runs

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
