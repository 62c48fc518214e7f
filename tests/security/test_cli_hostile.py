"""Every subcommand with hostile arguments: one clear line, never a traceback."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from xdp_tui import paths
from xdp_tui.cli import build_parser, main
from xdp_tui.cli.output import interface_name, lab_name

HOSTILE_NUMBERS = ["inf", "-inf", "nan", "1e400", "-1", "99999999999999999999", "", "0x10", "one"]
HOSTILE_NAMES = {
    lab_name: ["", "../../etc", "a" * 100, "x/y", "-x", "a b", "all"],
    interface_name: ["", ".", "..", "../../etc", "a" * 16, "x/y", "a b", "a:b"],
}


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def _typed_options() -> list[tuple[tuple[str, ...], str]]:
    found = []
    for path, parser in _commands(build_parser()):
        for action in parser._actions:
            if action.type not in (None, Path) and action.option_strings:
                found.append((path, action.option_strings[-1]))
    return found


def test_every_typed_option_is_covered() -> None:
    options = {f"{' '.join(path)} {option}" for path, option in _typed_options()}
    for expected in ("env traffic --pps", "env traffic --size", "stats --count", " --lab",
                     "load --dev", "monitor --duration", "env ping --count", "env setup --name"):  # fmt: skip
        assert any(item.endswith(expected) for item in options), expected


@pytest.mark.parametrize(("path", "option"), _typed_options())
def test_hostile_values_are_refused_in_one_line(
    path: tuple[str, ...], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kind = next(a.type for p, parser in _commands(build_parser()) if p == path
                for a in parser._actions if option in a.option_strings)  # fmt: skip
    for value in HOSTILE_NAMES.get(kind, HOSTILE_NUMBERS):
        with pytest.raises(SystemExit) as refused:
            main([*path, f"{option}={value}"])
        err = capsys.readouterr().err
        assert refused.value.code == 2, (path, option, value, err)
        assert "Traceback" not in err
        last = err.strip().splitlines()[-1]
        assert "error: argument" in last and option in last, last


_SOLUTION = paths.lessons_dir() / "basic01-xdp-pass" / "solution" / "xdp_prog_kern.c"


def _binary(tmp: Path) -> str:
    path = tmp / "binary.c"
    path.write_bytes(b"\x7fELF\x00\xff" * 100)
    return str(path)


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["env", "traffic", "--size", "1", "-n", "hCnolab"], "62..1514 bytes"),
        (["env", "traffic", "--size", "41", "-4", "-n", "hCnolab"], "42..1514 bytes"),
        (["env", "traffic", "-n", "hCnolab"], "no lab named hCnolab"),
        (["env", "teardown", "-n", "hCnolab"], "hCnolab"),
        (["env", "ping", "-n", "hCnolab"], "no lab named hCnolab"),
        (["env", "ping", "--to", "not-an-address", "-n", "hCnolab"], "hCnolab"),
        (["load", "/nonexistent.c", "--dev", "hCnolab"], ""),
        (["unload", "--dev", "hCnolab"], "hCnolab"),
        (["stats", "--dev", "hCnolab", "--count", "1"], "hCnolab"),
        (["status", "--dev", "hCnolab"], "hCnolab"),
        (["check", "no-such-lesson"], "unknown lesson"),
        (["check", "basic01-xdp-pass", "99"], "no assignment"),
        (["workspace", "no-such-lesson"], "unknown lesson"),
        (["hint", "no-such-lesson", "1"], "unknown lesson"),
        (["hint", "basic01-xdp-pass", "99"], "no assignment"),
        (["diff", "no-such-lesson"], "unknown lesson"),
        (["build", "/nonexistent.c"], "no such source file"),
        (["build", "/"], "not a regular file"),
        (["build", "/dev/zero"], "not a regular file"),
        (["build", "BINARY"], "error: "),
        (["env", "redirect", "hCnolab1", "hCnolab2"], "hCnolab1"),
        (["room", "--inventory", "/dev/zero"], "not a regular file"),  # hung a minute
        (["progress", "--all-users", "--diff", "basic01-xdp-pass"], "name them with --user"),
        (["run", "SOLUTION", "--packet", "pcap:/dev/zero"], "not a regular file"),
        (["run", "SOLUTION", "--packet", "pcap:/dev/null#0"], "they start at 1"),
        (["build", "SOLUTION", "-I", "/dev/zero"], "is not a folder"),
        (["capture", "--dev", "hCnolab", "-w", "/dev/full"], "hCnolab"),
    ],
)
def test_hostile_values_past_parsing_give_a_located_line(
    argv: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compiled = "BINARY" in argv
    argv = [_binary(tmp_path) if item == "BINARY" else item for item in argv]
    argv = [str(_SOLUTION) if item == "SOLUTION" else item for item in argv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and "internal error" not in err, err
    assert words in err, err
    if not compiled:  # a build prints clang's output first
        assert err.startswith("xdp-tui: error: "), err
