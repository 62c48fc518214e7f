"""`xdp-tui doctor [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from xdp_tui.cli.output import add_command, print_json


def register(sub: Any) -> None:
    parser = add_command(
        sub,
        "doctor",
        _doctor,
        help="check that this machine has what the workshop needs, with fixes",
        needs_root=False,  # it reports "not root" as a failed check instead
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _doctor(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from xdp_tui.cli.output import plain_console
    from xdp_tui.doctor import report, run_checks

    checks = run_checks()
    result = report(checks)
    if args.json:
        print_json(result)
    else:
        table = Table(show_header=True, header_style="bold", box=None)
        table.add_column("")
        table.add_column("check")
        table.add_column("finding")
        table.add_column("fix")
        for check in checks:
            mark = Text("ok", style="green") if check.ok else Text("FAIL", style="red")
            table.add_row(mark, check.name, check.detail, check.fix)
        plain_console().print(table)
    return 0 if result["ok"] else 1
