"""The learner-side `progress` command stays cheap to start (issue 16's room round).

The instructor's room runs `xdp-tui progress --all-users --json` on every
learner host every few seconds, so what that command imports is its cost.
These tests pin the import set (in a fresh interpreter) and the command table
that lets `main` build only the named command's parsers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xdp_tui import cli
from xdp_tui.lessons import HOME_PROGRESS, Progress

REPO = Path(__file__).resolve().parents[2]

# Runs the real entry point, then reports what ended up imported.
PROBE = """
import json, sys
from xdp_tui.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

# Nothing that serves the TUI, the kernel, packets or the instructor's side.
HEAVY = (
    "textual",
    "rich",
    "pyroute2",
    "numpy",
    "scapy",
    "asyncssh",
    "asyncio",
    "ssl",
    "socket",
    "subprocess",
    "xdp_tui.engine",
    "xdp_tui.labs",
    "xdp_tui.room",
    "xdp_tui.checks",
    "testenv",
)

# Ours: the lessons and progress code and what it stands on, nothing more.
OURS = {
    "xdp_tui",
    "xdp_tui.cli",
    "xdp_tui.cli.lessons",
    "xdp_tui.cli.output",
    "xdp_tui.config",
    "xdp_tui.errors",
    "xdp_tui.lessons",
    "xdp_tui.paths",
    "xdp_tui.privileges",
    "xdp_tui.process",
    "xdp_tui.sweep",
    "xdp_tui.userfiles",
}


def _imported_by(argv: list[str], tmp_path: Path) -> set[str]:
    """What running ARGV imports, the second time (root's remembered lesson tables in place)."""
    report = tmp_path / "modules.json"
    env = os.environ | {"PYTHONPATH": str(REPO), "XDP_TUI_HOMES": str(tmp_path / "homes")}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(report), *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    assert data["code"] == 0, done.stderr
    return set(data["modules"])


@pytest.mark.parametrize(
    "argv",
    [["progress", "--json"], ["progress", "--all-users", "--json"]],
    ids=["own", "all-users"],
)
def test_progress_imports_stay_small(argv: list[str], tmp_path: Path) -> None:
    if "--all-users" in argv and os.geteuid() != 0:
        pytest.skip("--all-users is root's")
    learner = Progress.load(tmp_path / "homes" / "ann" / HOME_PROGRESS)
    learner.mark("basic01-xdp-pass", "1", True, "ok")  # a real file to read
    modules = _imported_by(argv, tmp_path)
    # Root parses the lesson.toml files once (lessons.ParsedTables); others every time.
    avoid = HEAVY + (("tomllib",) if os.geteuid() == 0 else ())
    heavy = sorted(m for m in modules if m.split(".")[0] in avoid or m.startswith(avoid))
    assert not heavy, f"`xdp-tui {' '.join(argv)}` imports {heavy}"
    ours = {m for m in modules if m.split(".")[0] == "xdp_tui"}
    assert ours <= OURS, f"new modules on the progress path: {sorted(ours - OURS)}"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices)


def test_command_table_names_every_command_and_its_module() -> None:
    commands = _subcommands(cli.build_parser())
    registered = {
        name: parser.get_default("func").__module__.removeprefix("xdp_tui.cli.")
        for name, parser in commands.items()
    }
    assert registered == cli.COMMAND_MODULE
    assert set(cli.COMMAND_MODULE.values()) <= set(cli.COMMAND_MODULES)


@pytest.mark.parametrize(
    ("argv", "modules"),
    [
        (["progress", "--all-users", "--json"], ("lessons",)),
        (["--lab", "hN1", "status"], ("engine",)),
        (["--lab=hN1", "room", "--json"], ("room",)),
        (["--lab"], None),  # argparse's own error, from the full parser
        ([], None),  # the TUI
        (["-h", "progress"], None),  # top-level help lists every command
        (["--la", "hN1", "progress"], None),  # an abbreviation: not guessed
        (["proggress"], None),  # the typo message lists every command
    ],
)
def test_modules_for_builds_only_a_plainly_named_command(
    argv: list[str], modules: tuple[str, ...] | None
) -> None:
    assert cli.modules_for(argv) == modules


@pytest.mark.parametrize(
    "argv",
    [
        ["progress", "--all-users", "--json"],
        ["progress", "--all-users", "--user", "ann", "--diff"],
        ["--lab", "hN1", "check", "basic01-xdp-pass", "1", "--solution"],
        ["room", "--json"],
        ["stats", "--dev", "hN1"],
    ],
)
def test_one_domains_parser_reads_a_command_line_as_the_full_one(argv: list[str]) -> None:
    full = vars(cli.build_parser().parse_args(argv))
    alone = vars(cli.build_parser(cli.modules_for(argv)).parse_args(argv))
    assert alone == full
