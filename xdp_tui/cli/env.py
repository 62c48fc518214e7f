"""`xdp-tui env ...`: the lab network from the command line.

xdp-tui env setup [--name N] [--legacy-ip]     create a lab (and make it current)
xdp-tui env teardown | reset | status
xdp-tui env exec -- CMD...  /  enter           run inside the lab's namespace
xdp-tui env ping | traffic                     send from inside the lab
xdp-tui env ping --to ADDR                     ping any address from inside the lab
xdp-tui env redirect SRC DST                   fill packet03's redirect maps both ways
xdp-tui env tcpdump [--inner] [-- ARGS...]     watch the outer (or inner) end
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

from xdp_tui.cli.output import (
    MAX_COUNT,
    MAX_SECONDS,
    add_command,
    default_lab,
    lab_name,
    number,
    print_json,
    rate,
)
from xdp_tui.errors import XdpTuiError


def register(sub: Any) -> None:
    env = sub.add_parser(
        "env",
        help="lab network: set up, inspect, enter, send traffic",
        description="Lab networks: a veth pair into a namespace, and traffic from inside it.",
    )
    env.set_defaults(func=lambda _args: _usage(env), needs_root=False, command_name="env")
    commands = env.add_subparsers(title="env commands", metavar="ENV_COMMAND")

    setup = _command(commands, "setup", _setup, "create a lab (idempotent) and make it current")
    _name_option(setup)
    setup.add_argument("--legacy-ip", action="store_true", help="add IPv4 addresses (10.11.N.x)")
    _json_option(setup)

    teardown = _command(commands, "teardown", _teardown, "remove a lab and everything it made")
    _name_option(teardown)
    _json_option(teardown)

    reset = _command(commands, "reset", _reset, "rebuild a lab with the same addresses")
    _name_option(reset)
    _json_option(reset)

    status = _command(commands, "status", _status, "list labs, their addresses and health")
    _json_option(status)

    run = _command(commands, "exec", _exec, "run a command inside the lab's namespace")
    _name_option(run)
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")

    enter = _command(commands, "enter", _enter, "open a shell ($SHELL) inside the lab")
    _name_option(enter)

    ping = _command(commands, "ping", _ping, "echo requests from inside the lab to its outer end")
    _name_option(ping)
    _family_option(ping)
    ping.add_argument(
        "-c", "--count", type=_non_negative_int, default=5, help="default 5; 0: until Ctrl-C"
    )
    ping.add_argument("-i", "--interval", type=_seconds, default=0.2, help="seconds, default 0.2")
    ping.add_argument("--timeout", type=_seconds, default=1.0, help="wait after the last request")
    ping.add_argument("--vlan", type=_vlan_id, help="send 802.1Q-tagged requests with this id")
    ping.add_argument(
        "--to", metavar="ADDR", help="ping this address instead (the family follows it)"
    )
    _json_option(ping)

    traffic = _command(commands, "traffic", _traffic, "a UDP or TCP SYN stream from inside")
    _name_option(traffic)
    _family_option(traffic)
    traffic.add_argument("--proto", choices=("udp", "tcp"), default="udp")
    traffic.add_argument(
        "--pps", type=rate, help="frames per second (default: as fast as possible)"
    )
    traffic.add_argument("--duration", type=_seconds, default=1.0, help="seconds, default 1")
    traffic.add_argument("--count", type=_non_negative_int, help="send exactly this many instead")
    traffic.add_argument("--port", type=_port, default=None, help="UDP 9 / TCP 80 by default")
    traffic.add_argument(
        "--size", type=_frame_size, default=64, help="UDP frame bytes (headers included)"
    )
    traffic.add_argument("--vlan", type=_vlan_id, help="tag frames with this 802.1Q id")
    traffic.add_argument(
        "--engine",
        choices=("auto", "kernel", "socket"),
        default="auto",
        help="kernel: XDP live frames, millions of pps, full speed only, needs native XDP on "
        "the lab's outer end; socket: one send per frame; auto (default): kernel when it can",
    )
    _json_option(traffic)

    redirect = _command(
        commands, "redirect", _redirect, "fill the redirect maps of two labs, both ways"
    )
    redirect.add_argument(
        "src", metavar="SRC", type=lab_name, help="a lab running xdp_redirect_map_func"
    )
    redirect.add_argument("dst", metavar="DST", type=lab_name, help="the other lab")
    _json_option(redirect)

    dump = _command(commands, "tcpdump", _tcpdump, "tcpdump on the outer end (after XDP)")
    _name_option(dump)
    dump.add_argument("--inner", action="store_true", help="watch veth0 inside instead")
    dump.add_argument("args", nargs=argparse.REMAINDER, help="extra tcpdump arguments, after --")


def _command(commands: Any, name: str, handler: Any, help: str) -> argparse.ArgumentParser:
    parser = add_command(
        commands, name, _os_errors_as_messages(handler), help=help, needs_root=True
    )
    parser.set_defaults(command_name=f"env {name}")
    return parser


def _os_errors_as_messages(handler: Callable[[argparse.Namespace], int]) -> Any:
    """A kernel refusal we did not foresee still prints as one line, not a traceback."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except OSError as exc:
            raise XdpTuiError(
                f"{exc.strerror or exc}",
                location=f"env {handler.__name__.lstrip('_')}",
                hint="`xdp-tui env status` shows whether the lab is healthy",
            ) from exc

    return run


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# ---------------------------------------------------------------- option types


def _name_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-n", "--name", type=lab_name, help="lab name (default: the current lab, else test01)"
    )


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def _family_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-4",
        "--legacy-ip",
        "--ipv4",
        dest="ipv4",
        action="store_true",
        help="use IPv4 (the lab needs --legacy-ip)",
    )


def _non_negative_int(text: str) -> int:
    return number(text, int, lambda v: 0 <= v <= MAX_COUNT, f"a whole number in 0..{MAX_COUNT}")


def _seconds(text: str) -> float:
    return number(
        text, float, lambda v: 0 <= v <= MAX_SECONDS, f"a number of seconds in 0..{MAX_SECONDS:.0f}"
    )


def _frame_size(text: str) -> int:
    return number(text, int, lambda v: 0 < v <= MAX_FRAME, f"a frame size in 1..{MAX_FRAME}")


# The lab's MTU is 1500: a frame (without FCS) is at most 1514 bytes, 1518 with a VLAN tag.
MAX_FRAME = 1518


def _vlan_id(text: str) -> int:
    return number(text, int, lambda v: 0 <= v < 4096, "a VLAN id (0-4095)")


def _port(text: str) -> int:
    return number(text, int, lambda v: 0 <= v < 65536, "a port (0-65535)")


# ---------------------------------------------------------------- helpers


def _lab_name(args: argparse.Namespace) -> str:
    return default_lab(args.name)


def _lab(args: argparse.Namespace) -> Any:
    import testenv

    return testenv.get(_lab_name(args))


def _describe(lab: Any) -> str:
    four = f", {lab.outer_ipv4} <-> {lab.inner_ipv4}" if lab.legacy_ip else ""
    return (
        f"lab {lab.name}: {lab.outer} ({lab.outer_ipv6}) <-> {lab.inner} in namespace "
        f"{lab.netns} ({lab.inner_ipv6}){four}"
    )


def _remainder(items: list[str]) -> list[str]:
    return items[1:] if items and items[0] == "--" else items


# ---------------------------------------------------------------- handlers


def _setup(args: argparse.Namespace) -> int:
    import testenv

    lab = testenv.setup(_lab_name(args), legacy_ip=args.legacy_ip)
    if args.json:
        print_json(lab.to_dict())
    else:
        print(_describe(lab))
    return 0


def _teardown(args: argparse.Namespace) -> int:
    import testenv

    name = _lab_name(args)
    testenv.teardown(name)
    if args.json:
        print_json({"removed": name})
    else:
        print(f"lab {name} removed")
    return 0


def _reset(args: argparse.Namespace) -> int:
    import testenv

    lab = testenv.reset(_lab_name(args))
    if args.json:
        print_json(lab.to_dict())
    else:
        print(_describe(lab))
    return 0


def _status(args: argparse.Namespace) -> int:
    import testenv

    report = testenv.status()
    if args.json:
        print_json(report)
        return 0
    if not report["labs"]:
        print("no labs; create one with `xdp-tui env setup`")
        return 0
    for lab in report["labs"]:
        mark = "*" if lab["name"] == report["current"] else " "
        health = "healthy" if lab["healthy"] else "BROKEN: " + "; ".join(lab["problems"])
        addresses = " ".join(lab["ipv6"] + lab["ipv4"])
        print(f"{mark} {lab['name']:<15} {health:<8} {addresses}")
        if lab["outer_mac"]:
            print(
                f"  {'':<15} MAC {lab['outer']} {lab['outer_mac']}, {lab['inner']} {lab['inner_mac']}"
            )
    if any(not lab["healthy"] for lab in report["labs"]):
        print("repair a broken lab with `xdp-tui env reset --name NAME`")
    return 0


def _exec(args: argparse.Namespace) -> int:
    from testenv.shell import exec_in_lab

    command = _remainder(args.cmd)
    if not command:
        raise XdpTuiError("no command given", hint="e.g. `xdp-tui env exec -- ip addr`")
    exec_in_lab(_lab(args), command)


def _enter(args: argparse.Namespace) -> int:
    from testenv.shell import exec_in_lab

    lab = _lab(args)
    shell = os.environ.get("SHELL") or "/bin/sh"
    print(f"entering lab {lab.name} (exit the shell to leave)", file=sys.stderr)
    exec_in_lab(lab, [shell])


def _ping(args: argparse.Namespace) -> int:
    from testenv import traffic

    lab = _lab(args)
    target = lab.outer_ipv4 if args.ipv4 else lab.outer_ipv6
    family = 4 if args.ipv4 else 6
    if args.to is not None:
        target, family = _ping_destination(args)
    if not args.json:
        tag = f" in VLAN {args.vlan}" if args.vlan is not None else ""
        until = "until Ctrl-C" if args.count == 0 else f"{args.count} requests"
        print(f"ping {target}{tag} from inside lab {lab.name}, {until}", flush=True)

    def show(seq: int, rtt_ms: float) -> None:
        print(f"  reply seq={seq} time={rtt_ms:.3f} ms", flush=True)

    result = traffic.ping(
        lab,
        args.count or None,  # 0: until interrupted
        family=family,
        interval=args.interval,
        timeout=args.timeout,
        vlan=args.vlan,
        on_reply=None if args.json else show,
        dst=args.to,
    )
    if args.json:
        print_json({**result.to_dict(), "lost": result.lost})
        return 0
    loss = 100 * result.lost / result.sent if result.sent else 0
    answered = " ".join(map(str, result.answered_seqs)) or "none"
    print(f"{result.sent} sent, {result.received} received, {loss:.0f}% lost; answered: {answered}")
    if result.unreachable:
        print(f"requests could not leave the lab: {result.unreachable}")
    return 0


def _ping_destination(args: argparse.Namespace) -> tuple[str, int]:
    """The --to address in canonical form and its family; -4 must agree with it."""
    import ipaddress

    from testenv import traffic

    family = traffic.family_of(args.to)
    if args.ipv4 and family != 4:
        raise XdpTuiError(
            f"-4 asks for IPv4, but {args.to} is an IPv6 address",
            location="env ping --to",
            hint="the family follows the address; drop -4",
        )
    return str(ipaddress.ip_address(args.to.strip())), family


def _redirect(args: argparse.Namespace) -> int:
    import testenv
    from xdp_tui.engine.redirect import wire_redirect

    report = wire_redirect(testenv.get(args.src), testenv.get(args.dst))
    if args.json:
        print_json(report)
        return 0
    for write in report["written"]:
        print(f"{write['map']}: [{write['key']}] = {write['value']}")
    for note in report["notes"]:
        print(f"note: {note}")
    print(f"filled the maps of labs {report['src']} and {report['dst']}, both ways")
    return 0


def _traffic(args: argparse.Namespace) -> int:
    from testenv import traffic

    family = 4 if args.ipv4 else 6
    if args.proto == "udp":
        _check_frame_size(args.size, family, args.vlan)
    lab = _lab(args)
    common = {
        "pps": args.pps,
        "duration": args.duration,
        "count": args.count,
        "engine": args.engine,
    }
    if args.proto == "udp":
        port = 9 if args.port is None else args.port
        result = traffic.udp_stream(
            lab, port=port, size=args.size, family=family, vlan=args.vlan, **common
        )
    else:
        port = 80 if args.port is None else args.port
        result = traffic.tcp_syn_stream(lab, port=port, family=family, vlan=args.vlan, **common)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(
        f"{args.proto.upper()} to port {port}: {result.sent} frames in {result.duration_s:.2f} s "
        f"({result.pps:,.0f} pps, {result.engine} engine)"
        + (f", {result.enobufs} ENOBUFS retries" if result.enobufs else "")
    )
    return 0


def _check_frame_size(size: int, family: int, vlan: int | None) -> None:
    """A UDP frame of SIZE must hold its headers and fit the lab's 1500-byte MTU."""
    from testenv import packets

    headers = packets.ETH_HLEN + (packets.VLAN_HLEN if vlan is not None else 0)
    ip = packets.IPV6_HLEN if family == 6 else packets.IPV4_HLEN
    smallest, largest = headers + ip + packets.UDP_HLEN, headers + 1500
    if not smallest <= size <= largest:
        raise XdpTuiError(
            f"--size {size}: a UDP/IPv{family} frame here is {smallest}..{largest} bytes",
            location="env traffic --size",
            hint=f"headers alone take {smallest} bytes; the lab's MTU is 1500",
        )


def _tcpdump(args: argparse.Namespace) -> int:
    import shutil

    lab = _lab(args)
    extra = _remainder(args.args)
    if shutil.which("tcpdump") is None:
        raise XdpTuiError("tcpdump is not installed", hint="apt-get install tcpdump")
    if args.inner:
        from testenv.shell import exec_in_lab

        exec_in_lab(lab, ["tcpdump", "-nei", lab.inner, *extra])
    os.execvp("tcpdump", ["tcpdump", "-nei", lab.outer, *extra])
