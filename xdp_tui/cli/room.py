"""`xdp-tui room`: the instructor's view of every learner VM, over SSH."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from xdp_tui.cli.output import (
    MAX_SECONDS,
    add_command,
    number,
    positive_int,
    positive_seconds,
    print_json,
)


def register(sub: Any) -> None:
    parser = add_command(
        sub,
        "room",
        _room,
        help="the instructor's view: every learner of the room's VMs (Ansible inventory, SSH)",
        needs_root=False,
    )
    parser.add_argument(
        "--inventory",
        "-i",
        type=Path,
        default=None,
        help="Ansible inventory, INI or YAML (default: $ANSIBLE_INVENTORY, else /etc/ansible/hosts)",
    )
    parser.add_argument("--json", action="store_true", help="print one round as JSON and exit")
    parser.add_argument(
        "--interval", type=positive_seconds, default=5.0, help="seconds between rounds (default 5)"
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=3.0,
        help="per-host timeout, seconds (default 3)",
    )
    parser.add_argument(
        "--no-doctor", action="store_true", help="do not run `xdp-tui doctor` on the hosts"
    )
    parser.add_argument(
        "--stuck-failures",
        type=positive_int,
        default=None,
        help="stuck after this many failed checks in a row of one assignment (default 3)",
    )
    parser.add_argument(
        "--stuck-minutes",
        type=_minutes,
        default=None,
        help="stuck after this many minutes without a new pass (default 20)",
    )


def inventory_path(given: Path | None) -> Path:
    if given is not None:
        return given
    first = os.environ.get("ANSIBLE_INVENTORY", "").split(",")[0].strip()
    return Path(first) if first else Path("/etc/ansible/hosts")


def _room(args: argparse.Namespace) -> int:
    # Imported here: every learner VM runs `xdp-tui progress` each round, and
    # building the parser must not pay for asyncio and asyncssh.
    import asyncio
    from dataclasses import replace

    from xdp_tui.room import RoomPoller, StuckRule, load_inventory

    hosts = load_inventory(inventory_path(args.inventory))
    rule = StuckRule()
    if args.stuck_failures is not None:
        rule = replace(rule, failures=args.stuck_failures)
    if args.stuck_minutes is not None:
        rule = replace(rule, idle_s=args.stuck_minutes * 60)
    poller = RoomPoller(hosts, timeout_s=args.timeout, rule=rule, doctor=not args.no_doctor)
    if args.json:
        print_json(asyncio.run(_one_round(poller)).to_dict())
        return 0
    from xdp_tui.screens.room import run_room

    return run_room(poller, interval_s=args.interval)


async def _one_round(poller: Any) -> Any:
    try:
        first = await poller.poll()  # starts doctor on every host it reached
        await poller.wait_for_doctors()
        return poller.with_doctors(first)
    finally:
        await poller.close()


def _minutes(text: str) -> float:
    limit = MAX_SECONDS / 60
    return number(text, float, lambda v: 0 < v <= limit, f"a number of minutes in (0, {limit:.0f}]")
