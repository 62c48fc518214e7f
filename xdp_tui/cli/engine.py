"""`xdp-tui build | load | unload | status`: the engine from the command line.

`load` attaches persistently (a pinned BPF link): the program stays after the
command exits, until `xdp-tui unload`. Every handler runs C-level work inside
quiet_fd2() so clang or libbpf never print on the terminal behind our back.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from xdp_tui.cli.output import add_command, default_lab, interface_name, print_json
from xdp_tui.errors import XdpTuiError
from xdp_tui.labs import DEFAULT_NAME
from xdp_tui.stderr import quiet_fd2

DEFAULT_DEV = DEFAULT_NAME


def register(sub: Any) -> None:
    build = add_command(
        sub, "build", _build, help="compile a C file into a BPF object", needs_root=False
    )
    build.add_argument("file", type=Path, help="C source (.c)")
    build.add_argument(
        "-o", "--output", type=Path, default=None, help="object path (default: FILE.o)"
    )
    _add_include(build)
    build.add_argument("--json", action="store_true", help="machine-readable output")

    load = add_command(
        sub,
        "load",
        _load,
        help="build (if .c), load and attach an XDP program on a lab; stays until `unload`",
    )
    load.add_argument("file", type=Path, help="C source (.c) or BPF object (.o)")
    _add_dev(load)
    _add_include(load)
    load.add_argument("--prog", default=None, help="function name of the XDP program to load")
    load.add_argument("--mode", choices=["native", "skb", "auto"], default="auto")
    load.add_argument(
        "--force", action="store_true", help="allow a non-lab interface; replace a foreign program"
    )
    load.add_argument(
        "--no-pin", action="store_true", help="do not pin the maps under /sys/fs/bpf/DEV"
    )
    load.add_argument(
        "--log", action="store_true", help="on failure, print the full verifier/libbpf log"
    )
    load.add_argument("--json", action="store_true", help="machine-readable output")

    unload = add_command(
        sub, "unload", _unload, help="detach xdp-tui's program from a lab and remove its pins"
    )
    _add_dev(unload)
    unload.add_argument(
        "--force", action="store_true", help="also detach programs other tools attached"
    )
    unload.add_argument("--json", action="store_true", help="machine-readable output")

    status = add_command(sub, "status", _status, help="which XDP program runs on the labs")
    status.add_argument(
        "--dev",
        type=interface_name,
        default=None,
        help="one interface (default: every lab and every interface xdp-tui attached to)",
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")

    clean = add_command(
        sub,
        "clean",
        _clean,
        help="remove xdp-tui's leftovers (pins, records, links), also of interfaces that are gone",
    )
    clean.add_argument("--json", action="store_true", help="machine-readable output")


def _add_dev(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dev",
        type=interface_name,
        default=None,
        help=f"interface (default: the current lab, else {DEFAULT_DEV})",
    )


def _add_include(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="also search DIR for #include files (repeatable; a folder's own list: "
        "include_dirs = [...] in its xdp-tui.toml)",
    )


def _report_failure(exc: XdpTuiError, args: argparse.Namespace) -> None:
    """JSON callers get the error on stdout too; --log shows the raw log."""
    if getattr(args, "json", False):
        print_json({"ok": False, **exc.to_dict()})
    if not getattr(args, "log", False):
        return
    from xdp_tui.engine.verifier import VerifierReport, log_view, render_log_view

    report = getattr(exc, "report", None)  # a verifier refusal: the log with its C lines
    if isinstance(report, VerifierReport):
        sys.stderr.write(render_log_view(log_view(report)))
    elif exc.detail:
        sys.stderr.write(exc.detail.rstrip() + "\n")


# ---- build ----------------------------------------------------------------


def _build(args: argparse.Namespace) -> int:
    from xdp_tui.engine.build import one_shot_builds

    with one_shot_builds():  # a one-shot command: no clang waiting for a next build
        return _build_now(args)


def _build_now(args: argparse.Namespace) -> int:
    from xdp_tui.engine.build import BuildError, build

    try:
        with quiet_fd2():
            result = build(
                args.file, args.output, include_dirs=args.include_dirs, learner_output=True
            )
        if not result.ok:
            raise BuildError(result)
    except XdpTuiError as exc:
        if isinstance(exc, BuildError) and not args.json:
            sys.stderr.write(exc.result.raw)  # clang's own text, with the caret lines
        _report_failure(exc, args)
        raise
    if args.json:
        print_json(result.to_dict())
        return 0
    for diag in result.diagnostics:
        print(f"{diag.location}: {diag.severity}: {diag.message}")
    print(f"built {result.obj}" + (" (unchanged, not rebuilt)" if result.cached else ""))
    return 0


# ---- load / unload --------------------------------------------------------


def _load(args: argparse.Namespace) -> int:
    from xdp_tui.engine import build

    with build.one_shot_builds():
        return _load_now(args)


def _load_now(args: argparse.Namespace) -> int:
    from xdp_tui.engine import build

    # No clang for a next build (one_shot_builds), but start the one this load
    # needs now, so its start-up runs while Python imports the engine.
    if args.file.suffix == ".c":
        build.warm_up(args.file, include_dirs=args.include_dirs)
    from xdp_tui.engine.session import load_program

    dev = default_lab(args.dev)
    try:
        with quiet_fd2():
            loaded = load_program(
                args.file,
                dev,
                program=args.prog,
                mode=args.mode,
                persistent=True,
                force=args.force,
                pin_maps=not args.no_pin,
                include_dirs=args.include_dirs,
            )
            shown = loaded.to_dict()
            loaded.close()  # our fds only: the pinned link keeps it attached
    except XdpTuiError as exc:
        # The verifier's or libbpf's log (not clang's output, printed as it is) is behind --log.
        if (
            exc.detail
            and exc.hint is None
            and not args.log
            and not isinstance(exc, build.BuildError)
        ):
            exc.hint = "the cause is in the full verifier/libbpf log: run again with --log"
        _report_failure(exc, args)
        raise
    if args.json:
        print_json({"ok": True, **shown})
        return 0
    print(
        f"loaded {loaded.prog_name} (id {loaded.prog_id}) on {dev} in {loaded.mode} mode; "
        f"it stays attached until `xdp-tui unload --dev {dev}`"
    )
    for note in loaded.notes:
        print(f"  note: {note}")
    return 0


def _unload(args: argparse.Namespace) -> int:
    from xdp_tui.engine.attach import read_record
    from xdp_tui.engine.session import unload

    dev = default_lab(args.dev)
    link_pin = (read_record(dev) or {}).get("link_pin")
    try:
        with quiet_fd2():
            summary = unload(dev, force=args.force)
    except XdpTuiError as exc:
        _report_failure(exc, args)
        raise
    if args.json:
        print_json({"ok": True, **summary})
        return 0
    if summary["detached"]:
        print(f"detached the XDP program from {dev}")
        if link_pin:
            print(
                f"  released xdp-tui's pinned link {link_pin} (while it existed, `ip link set "
                f"dev {dev} xdp off` and `xdp-loader unload` got 'Device or resource busy')"
            )
    else:
        print(f"no XDP program was attached to {dev}")
    if summary["peer_detached"]:
        print("  removed the XDP_PASS program xdp-tui had put on the lab's inner end")
    _print_removed(dev, summary["pins_removed"])  # type: ignore[arg-type]
    return 0


def _print_removed(dev: str, removed: list[str]) -> None:
    from xdp_tui.paths import pin_dir

    for path in removed:
        what = "folder" if path == str(pin_dir(dev)) else "pin"
        print(f"  removed {what} {path}")


# ---- status ---------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    from xdp_tui.engine.attach import interface_exists, query, read_record

    try:
        devs = [args.dev] if args.dev else _status_devs()
        gone = [dev for dev in devs if not interface_exists(dev) and not args.dev]
        statuses = [query(dev) for dev in devs if dev not in gone]
    except XdpTuiError as exc:
        _report_failure(exc, args)
        raise
    if args.json:
        if args.dev:
            print_json(statuses[0].to_dict())
        else:
            shown = [s.to_dict() for s in statuses]
            print_json(shown + [{"dev": dev, "gone": True} for dev in gone])
        return 0
    if not statuses and not gone:
        print("no labs; create one with `xdp-tui env setup`")
    for s in statuses:
        if s.prog_id is None:
            print(f"{s.dev}: no XDP program")
            continue
        owner = "xdp-tui" if s.ours else "another tool"
        print(f"{s.dev}: {s.prog_name} (id {s.prog_id}), {s.mode} mode, attached by {owner}")
        link_pin = (read_record(s.dev) or {}).get("link_pin") if s.ours else None
        if link_pin:
            print(
                f"  held by xdp-tui's pinned link {link_pin}: `ip link set dev {s.dev} xdp off` "
                "and `xdp-loader unload` cannot remove it (Device or resource busy);\n"
                f"  release it with `xdp-tui unload --dev {s.dev}` (or `rm {link_pin}`)"
            )
    for dev in gone:
        print(f"{dev}: interface gone; xdp-tui's leftovers for it remain (`xdp-tui clean`)")
    return 0


def _status_devs() -> list[str]:
    """Every lab, and every interface xdp-tui attached to or pinned for (forced, vanished)."""
    import testenv
    from xdp_tui import pins
    from xdp_tui.engine.attach import recorded_devs

    labs = [lab["name"] for lab in testenv.status()["labs"]]
    labs = [name for name in labs if testenv.is_lab_interface(name)]
    others = sorted((set(recorded_devs()) | set(pins.recorded_devs())) - set(labs))
    return labs + others


# ---- clean ----------------------------------------------------------------


def _clean(args: argparse.Namespace) -> int:
    from xdp_tui.engine.session import clean

    with quiet_fd2():
        done = clean()
    if args.json:
        print_json({"ok": True, "cleaned": [item.to_dict() for item in done]})
        return 0
    if not done:
        print("nothing to clean: no leftovers of xdp-tui")
    for item in done:
        state = " (interface gone)" if item.gone else ""
        print(f"{item.dev}{state}:")
        _print_removed(item.dev, item.pins)
        for record in item.records:
            print(f"  removed record {record}")
    return 0
