"""`xdp-tui stats` and `xdp-tui monitor`: watching a running XDP program from the shell.

xdp-tui stats [--dev D] [--interval S] [--count N] [--json]
    per-action packets, pps, bytes and Mbit/s (from xdp_stats_map), every other
    map of the program decoded from BTF, interface rates and run statistics.
    --json prints one object per sample per line.
xdp-tui stats --top N [--sort FIELD|pps|bps|key] [--map NAME] [--filter F] [--all]
    big maps read whole each sample: the top N entries by the sort column,
    totals and the entry count against max_entries (`entries_total`,
    `max_entries`, `top`, `totals` in JSON); --all streams every entry.
xdp-tui monitor [--duration S] [--interval S] [--no-printk] [--json]
    xdp:xdp_exception counts by program and action, redirect errors and
    bpf_printk lines from trace_pipe.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from xdp_tui.cli.output import (
    add_command,
    default_lab,
    interface_name,
    plain_console,
    positive_int,
    positive_seconds,
    print_json,
)
from xdp_tui.errors import XdpTuiError

# rich and the stats engine load only when one of these commands runs: every
# other `xdp-tui` command builds this parser too and should not pay for them.
if TYPE_CHECKING:
    from rich.console import Console, Group
    from rich.table import Table
    from rich.text import Text

    from xdp_tui.engine.bigmap import TopSample, TopSampler, TopTable
    from xdp_tui.engine.stats import StatsSampler

T = TypeVar("T")


def register(sub: Any) -> None:
    stats = add_command(sub, "stats", _stats, help="live per-action rates and decoded maps")
    _dev_option(stats)
    stats.add_argument(
        "--interval", type=positive_seconds, default=1.0, help="seconds between samples (1)"
    )
    stats.add_argument("--count", type=positive_int, help="stop after N samples")
    stats.add_argument("--json", action="store_true", help="one JSON object per sample per line")
    stats.add_argument(
        "--top", type=positive_int, metavar="N", help="read whole maps: the top N entries"
    )
    stats.add_argument(
        "--sort",
        metavar="COLUMN",
        help="with --top/--all: pps (default), bps, key or a value field",
    )
    stats.add_argument("--map", metavar="NAME", help="with --top/--all: only this map")
    stats.add_argument(
        "--filter", default="", metavar="F", help="with --top/--all: keys N, FIELD=N, LOW..HIGH, IP"
    )
    stats.add_argument(
        "--all", action="store_true", help="every entry (sorted), one line each, not only the top"
    )

    monitor = add_command(
        sub, "monitor", _monitor, help="XDP exceptions, redirect errors and bpf_printk lines"
    )
    monitor.add_argument("--duration", type=positive_seconds, help="stop after S seconds")
    monitor.add_argument(
        "--interval", type=positive_seconds, default=1.0, help="seconds between reports (1)"
    )
    monitor.add_argument("--no-printk", action="store_true", help="do not read trace_pipe")
    monitor.add_argument("--json", action="store_true", help="one JSON object per report")

    trace = add_command(
        sub,
        "trace",
        _trace,
        help="attach a tracepoint program (tracing01) and show its per-interface counts",
    )
    trace.add_argument("file", help="C source or BPF object with a tracepoint program")
    trace.add_argument("--prog", default=None, help="the program, if the file has several")
    trace.add_argument(
        "--interval", type=positive_seconds, default=2.0, help="seconds between reports (2)"
    )
    trace.add_argument("--count", type=positive_int, help="stop after N reports")
    trace.add_argument("--json", action="store_true", help="one JSON object per report")

    samples = add_command(
        sub,
        "samples",
        _samples_cmd,
        help="packet samples the attached program sends through a ring buffer (tracing04)",
    )
    _dev_option(samples)
    samples.add_argument("--map", default="samples", help="the ring buffer map's name (samples)")
    samples.add_argument("-w", "--write", help="also write the samples to this pcapng file")
    samples.add_argument("--count", type=positive_int, help="stop after N samples")
    samples.add_argument("--duration", type=positive_seconds, help="stop after S seconds")


def _dev_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dev", type=interface_name, help="interface (default: the current lab, else test01)"
    )


# ---- trace -------------------------------------------------------------------


def _trace(args: argparse.Namespace) -> int:
    """Hold the program on its tracepoint (detached on exit) and report its maps by interface."""
    from pathlib import Path

    from xdp_tui.engine.ifnames import counts_by_interface
    from xdp_tui.engine.maps import read_map
    from xdp_tui.engine.tracepoint import attach_tracepoint_program

    with attach_tracepoint_program(Path(args.file), args.prog) as tracer:
        if not args.json:
            print(
                f"{tracer.prog_name} on tracepoint {tracer.tracepoint} (prog id {tracer.prog_id});"
                " ctrl+c detaches it",
                flush=True,
            )
        n = 0
        try:
            while args.count is None or n < args.count:
                time.sleep(args.interval)
                n += 1
                report = {
                    name: counts_by_interface(read_map(fd)) for name, fd in tracer.maps.items()
                }
                if args.json:
                    print_json(
                        {
                            name: [
                                {"ifindex": r.ifindex, "name": r.name, "count": r.count}
                                for r in rows
                            ]
                            for name, rows in report.items()
                        }
                    )
                    continue
                for name, rows in report.items():
                    counts = "  ".join(f"{r.name} ({r.count})" for r in rows) or "(empty)"
                    print(f"{name}: {counts}", flush=True)
        except KeyboardInterrupt:
            pass
    return 0


# ---- samples -----------------------------------------------------------------


def _samples_cmd(args: argparse.Namespace) -> int:
    """Print each sample as it arrives (and write them to a pcapng file) until stopped."""
    from pathlib import Path

    from xdp_tui.engine import bpfsys
    from xdp_tui.engine.attach import ifindex_of
    from xdp_tui.engine.dissect import summary
    from xdp_tui.engine.samples import PacketSample, SampleReader, write_pcapng
    from xdp_tui.paths import pin_dir

    dev = default_lab(args.dev)
    ifindex = ifindex_of(dev)
    deadline = None if args.duration is None else time.monotonic() + args.duration

    def arriving(reader: SampleReader) -> Iterator[PacketSample]:
        n = 0
        try:
            while args.count is None or n < args.count:
                if deadline is not None and time.monotonic() >= deadline:
                    return
                for sample in reader.poll(timeout_ms=200):
                    n += 1
                    cut = f" ({len(sample.data)} copied)" if sample.truncated else ""
                    print(f"len {sample.length}{cut}: {summary(sample.data)}", flush=True)
                    yield sample
        except KeyboardInterrupt:
            return

    pin = pin_dir(dev) / args.map
    if not pin.exists():
        raise XdpTuiError(
            f"no map named {args.map} is pinned for {dev}",
            location=str(pin),
            hint=f"attach a program with a ring buffer named {args.map} first (tracing04):"
            f" `xdp-tui load FILE --dev {dev}`",
        )
    with bpfsys.obj_get(pin) as fd, SampleReader(fd) as reader:
        if args.write:
            written = write_pcapng(arriving(reader), Path(args.write), ifindex, learner_file=True)
            print(f"{written} samples written to {args.write}")
        else:
            for _ in arriving(reader):
                pass
    return 0


# ---- stats -------------------------------------------------------------------


def _stats(args: argparse.Namespace) -> int:
    from xdp_tui.engine.attach import ifindex_of
    from xdp_tui.engine.stats import StatsSampler

    dev = default_lab(args.dev)
    ifindex_of(dev)  # a clear error for a missing interface, before anything else
    _require_program(dev, given=args.dev is not None)
    if args.top or args.all:
        return _stats_top(args, dev)
    if args.sort or args.map or args.filter:
        raise XdpTuiError("--sort, --map and --filter go with --top N or --all")
    with StatsSampler(dev, run_stats=True) as sampler:
        sampler.sample()  # baseline: rates need two samples
        if args.json:
            _stats_json(sampler, args.interval, args.count)
        else:
            _stats_text(sampler, args.interval, args.count)
    return 0


def _require_program(dev: str, *, given: bool) -> None:
    """Stop with what is wrong and what to do when no XDP program is on DEV (GIVEN: by --dev).

    A sample of nothing would print nothing (`--all`) or a `null` program (`--json`)
    and exit 0: a script could not tell it from an idle program.
    """
    from xdp_tui.engine.stats import attached_prog_id

    if attached_prog_id(dev) is not None:
        return
    which = f"dev {dev}"
    if not given:
        import testenv

        lab = "the current lab" if testenv.current() == dev else "the default lab"
        which += f" ({lab}; --dev picks another)"
    raise XdpTuiError(
        "no XDP program is attached, so there are no counters or maps to show",
        location=which,
        hint=f"attach one first: `xdp-tui load FILE.c --dev {dev}` (or b in the TUI);"
        " `xdp-tui status` shows what is attached where",
    )


def _samples(sample: Callable[[], T], interval: float, count: int | None) -> Iterator[T]:
    """SAMPLE() every INTERVAL seconds, COUNT times (forever without)."""
    n = 0
    next_at = time.monotonic() + interval
    while count is None or n < count:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at + interval, time.monotonic())  # a slow read stretches the tick
        n += 1
        yield sample()


def _stats_json(sampler: StatsSampler, interval: float, count: int | None) -> None:
    for sample in _samples(sampler.sample, interval, count):
        print_json(sample)


def _stats_text(sampler: StatsSampler, interval: float, count: int | None) -> None:

    console = plain_console()
    _print_samples(console, _samples(sampler.sample, interval, count), render_sample, count)


def _print_samples(
    console: Console, samples: Iterator[T], render: Callable[[T], Any], count: int | None
) -> None:
    """Each sample rendered: redrawn in place on a terminal, else printed one after another."""
    from rich.live import Live

    if not console.is_terminal or count == 1:
        for sample in samples:
            console.print(render(sample))
        return
    with Live(console=console, auto_refresh=False, transient=False) as live:
        for sample in samples:
            live.update(render(sample), refresh=True)


def _num(n: float) -> str:
    return f"{n:,.0f}"


def _mbit(bps: float) -> str:
    return f"{bps / 1e6:,.3f}"


def render_sample(sample: dict[str, Any]) -> Group:
    """A rich renderable of one stats sample (also used for `--count 1` plain output)."""
    from rich.console import Group
    from rich.text import Text

    from xdp_tui.engine.stats import STATS_MAP

    parts: list[Any] = []
    when = time.strftime("%H:%M:%S", time.localtime(sample["time"]))
    if sample["prog_id"] is None:
        parts.append(Text(f"{when}  {sample['dev']}: no XDP program attached", style="yellow"))
        return Group(*parts)
    parts.append(
        Text(
            f"{when}  {sample['dev']}: {sample['prog_name']} (prog id {sample['prog_id']})",
            style="bold",
        )
    )
    if "actions" in sample:
        parts.append(_actions_table(sample["actions"]))
    elif STATS_MAP not in sample["maps"]:
        parts.append(Text("(no xdp_stats_map: per-action table not available)", style="dim"))
    extra = _extras_line(sample)
    if extra:
        parts.append(Text(extra, style="dim"))
    for name, m in sample["maps"].items():
        if name == STATS_MAP and "actions" in sample:
            continue
        parts.append(_map_table(name, m))
    return Group(*parts)


def _actions_table(actions: dict[str, dict[str, float]]) -> Table:
    from rich.table import Table

    from xdp_tui.engine.stats import ACTION_NAMES

    table = Table(title="XDP actions", title_justify="left", expand=False)
    table.add_column("action")
    for col in ("packets", "pps", "bytes", "Mbit/s"):
        table.add_column(col, justify="right")
    for name in ACTION_NAMES:
        a = actions.get(name)
        if a is None:
            continue
        style = "dim" if not a["packets"] else ""
        table.add_row(
            name,
            _num(a["packets"]),
            _num(a["pps"]),
            _num(a["bytes"]),
            _mbit(a["bps"]),
            style=style,
        )
    return table


def _extras_line(sample: dict[str, Any]) -> str:
    bits = []
    iface = sample.get("interface")
    if iface:
        bits.append(
            f"interface rx {_num(iface['rx_pps'])} pps {_mbit(iface['rx_bps'])} Mbit/s, "
            f"tx {_num(iface['tx_pps'])} pps"
        )
    run = sample.get("run")
    if run and run["run_cnt"]:
        bits.append(
            f"program runs {_num(run['runs_per_s'])}/s, {run['ns_per_run']:,.0f} ns/run "
            f"({_num(run['run_cnt'])} total)"
        )
    return "   ".join(bits)


def _compact(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


MAP_NAME_SHOWN = 40  # a longer map name is cut (with …) in the line above its table


def _table_head(name: str, details: str) -> Text:
    """The line above a map's table: its name (cut to MAP_NAME_SHOWN) and DETAILS, wrapped at
    the terminal's width between words, not squeezed into the table's (a long name broke
    the title of a narrow table mid-word over several lines)."""
    from rich.text import Text

    shown = name if len(name) <= MAP_NAME_SHOWN else name[: MAP_NAME_SHOWN - 1] + "…"
    return Text.assemble((shown, "bold"), "  ", details)


def _map_table(name: str, m: dict[str, Any], max_rows: int = 20) -> Group:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from xdp_tui.engine.live import VALUE_FORMAT_LABELS

    value_type = m["value_type"] or f"({VALUE_FORMAT_LABELS.get(m.get('value_format', ''), 'raw')})"
    head = _table_head(name, f"({m['type']}, {m['key_type'] or 'raw'} -> {value_type})")
    table = Table(expand=False)
    table.add_column("key")
    table.add_column("value" + (" (sum over CPUs)" if m.get("per_cpu") else ""))
    rates = {json.dumps(r["key"], sort_keys=True): r for r in m.get("rates", [])}
    if rates:
        table.add_column("pps", justify="right")
    entries = m["entries"]
    for entry in entries[:max_rows]:
        row = [_compact(entry["key"]), _compact(entry["value"])]
        if rates:
            rate = rates.get(json.dumps(entry["key"], sort_keys=True))
            row.append(_num(rate["pps"]) if rate else "")
        table.add_row(*row)
    if len(entries) > max_rows:
        table.add_row(f"... {len(entries) - max_rows} more", "", *([""] if rates else []))
    if not entries:
        table.add_row(Text(m.get("note") or "(empty)", style="dim"), "")
    return Group(head, table)


# ---- stats --top: big maps read whole -------------------------------------------


def _stats_top(args: argparse.Namespace, dev: str) -> int:

    from xdp_tui.engine.bigmap import DEFAULT_TOP, TopSampler

    top = args.top or DEFAULT_TOP
    sort = args.sort or "pps"

    with TopSampler(dev, map_name=args.map) as sampler:

        def sample() -> TopSample:
            return sampler.sample(top, sort, args.filter)

        sample()  # baseline: rates need two reads
        _require_maps(sampler, dev)
        samples = _samples(sample, args.interval, args.count)
        if args.all:
            for one in samples:
                _print_every_entry(sampler, one, args.json)
        elif args.json:
            for one in samples:
                print_json(one.to_dict())
        else:
            _print_samples(plain_console(), samples, render_top_sample, args.count)
    return 0


def _require_maps(sampler: TopSampler, dev: str) -> None:
    """Stop with why when the program on DEV has no map to read (`--all` printed nothing)."""
    if sampler.watches or sampler.prog_id is None:  # gone meanwhile: the samples say so
        return
    raise XdpTuiError(
        f"program {sampler.prog_name} (id {sampler.prog_id}) has no map whose entries"
        " can be read whole",
        location=f"dev {dev}",
        hint="`xdp-tui stats` (without --top/--all) shows every map it has, decoded",
    )


def _print_every_entry(sampler: TopSampler, sample: TopSample, as_json: bool) -> None:
    """Per map: its figures on one line, then every entry in sort order, one per line."""
    for watch in sampler.watches:
        table = sample.maps.get(watch.name)
        if table is None:
            continue
        head = {k: v for k, v in table.to_dict().items() if k != "top"}
        if as_json:
            print_json({"time": sample.time, "map": table.name, **head})
        else:
            print(f"# {table.name}: {table.matched:,} of {table.entries_total:,} entries "
                  f"(max {table.max_entries:,}), sorted by {table.sort}")  # fmt: skip
        for row in watch.all_rows():
            if as_json:
                print_json({"map": table.name, **row.to_dict()})
            else:
                print(f"{_compact(row.key)}\t{_compact(row.value)}\t{row.pps:.1f} pps"
                      f"\t{row.bps:.0f} bit/s")  # fmt: skip
        sys.stdout.flush()


def render_top_sample(sample: TopSample) -> Group:
    """A rich renderable of one `stats --top` sample: a table per map."""
    from rich.console import Group
    from rich.text import Text

    when = time.strftime("%H:%M:%S", time.localtime(sample.time))
    if sample.prog_id is None:
        return Group(Text(f"{when}  {sample.dev}: no XDP program attached", style="yellow"))
    head = f"{when}  {sample.dev}: {sample.prog_name} (prog id {sample.prog_id})"
    return Group(Text(head, style="bold"), *(_top_table(t) for t in sample.maps.values()))


def _top_table(t: TopTable) -> Group:
    from rich.console import Group
    from rich.table import Table

    from xdp_tui.engine.live import VALUE_FORMAT_LABELS

    shown = f"{t.matched:,} matching {t.key_filter!r} of " if t.key_filter else ""
    value_type = t.value_type or f"({VALUE_FORMAT_LABELS.get(t.value_format, 'raw')})"
    head = _table_head(
        t.name,
        f"({t.type}, {t.key_type or 'raw'} -> {value_type})  "
        f"{shown}{t.entries_total:,} entries, max {t.max_entries:,}, top {len(t.rows)} by {t.sort}",
    )
    table = Table(expand=False, show_footer=True)
    table.add_column("key", footer=f"total ({t.totals.entries:,})")
    for name in t.fields:
        table.add_column(name, justify="right", footer=_num(t.totals.values[name]))
    table.add_column("pps", justify="right", footer=_num(t.totals.pps))
    table.add_column("Mbit/s", justify="right", footer=_mbit(t.totals.bps))
    for row in t.rows:
        cells = [_compact(row.key), *(_num(row.values[name]) for name in t.fields)]
        table.add_row(*cells, _num(row.pps), _mbit(row.bps), style="green" if row.new else "")
    if t.note:
        table.add_row(t.note)
    return Group(head, table)


# ---- monitor -----------------------------------------------------------------


def _monitor(args: argparse.Namespace) -> int:

    from xdp_tui.engine.monitor import ExceptionMonitor, TracePipe, open_printk_reader

    console = plain_console()
    pipe: TracePipe | None = None
    notes: list[str] = []
    if not args.no_printk:
        try:
            pipe = open_printk_reader()
        except XdpTuiError as exc:
            notes.append(f"printk lines not shown: {exc.render()}")
    with ExceptionMonitor() as mon:
        try:
            _monitor_loop(mon, pipe, args, console, notes)
        finally:
            if pipe is not None:
                pipe.close()
    return 0


class _Names:
    """Program and interface names for ids, looked up once each."""

    def __init__(self) -> None:
        self._progs: dict[int, str] = {}

    def prog(self, prog_id: int) -> str:
        if prog_id not in self._progs:
            from xdp_tui.engine import bpfsys

            try:
                self._progs[prog_id] = bpfsys.prog_info_by_id(prog_id).name
            except XdpTuiError:
                self._progs[prog_id] = "?"  # already unloaded
        return self._progs[prog_id]

    @staticmethod
    def iface(ifindex: int) -> str:
        try:
            return socket.if_indextoname(ifindex)
        except OSError:
            return f"ifindex {ifindex}"  # inside a namespace, or gone


def _monitor_loop(
    mon: Any, pipe: Any, args: argparse.Namespace, console: Console, notes: list[str]
) -> None:
    from rich.text import Text

    names = _Names()
    end = time.monotonic() + args.duration if args.duration else None
    if not args.json:
        console.print(
            Text("watching xdp:xdp_exception and xdp:xdp_redirect_err (Ctrl-C stops)", style="bold")
        )
        for note in notes:
            console.print(Text(note, style="yellow"))
    last_counts: dict[Any, int] = {}
    try:
        while True:
            tick_end = time.monotonic() + args.interval
            if end is not None:
                tick_end = min(tick_end, end)
            lines = _read_until(pipe, tick_end)
            report = _monitor_report(mon, names, lines)
            if args.json:
                print_json(report)
            else:
                _print_monitor_text(console, report, last_counts)
            if end is not None and time.monotonic() >= end:
                break
    except KeyboardInterrupt:
        pass
    if not args.json:
        _print_monitor_summary(console, _monitor_report(mon, names, []))


def _read_until(pipe: Any, deadline: float) -> list[Any]:
    lines: list[Any] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return lines
        if pipe is None:
            time.sleep(left)
            return lines
        lines.extend(pipe.read(timeout=min(left, 0.2)))


def _monitor_report(mon: Any, names: _Names, lines: list[Any]) -> dict[str, Any]:
    exceptions = [
        {**vars(e), "prog_name": names.prog(e.prog_id), "dev": names.iface(e.ifindex)}
        for e in mon.exceptions()
    ]
    redirects = [
        {**vars(r), "prog_name": names.prog(r.prog_id), "dev": names.iface(r.ifindex)}
        for r in mon.redirect_errors
    ]
    return {
        "time": time.time(),
        "exceptions": exceptions,
        "redirect_errors": redirects,
        "printk": [line.to_dict() for line in lines],
    }


def _print_monitor_text(console: Console, report: dict[str, Any], last: dict[Any, int]) -> None:
    from rich.text import Text

    for line in report["printk"]:
        console.print(
            Text.assemble(
                (f"{line['time']:.6f} ", "dim"),
                (f"{line['task']}-{line['pid']} [{line['cpu']:03d}] ", "dim"),
                (line["message"], ""),
            )
        )
    for e in report["exceptions"]:
        what = f"exception: {e['action_name']} from {e['prog_name']} (prog id {e['prog_id']})"
        key: tuple[object, ...] = ("exc", e["prog_id"], e["action"], e["ifindex"])
        _print_growth(console, last, key, e["count"], f"{what} on {e['dev']}")
    for r in report["redirect_errors"]:
        what = f"redirect error: {r['prog_name']} (prog id {r['prog_id']}) on {r['dev']}"
        key = ("redir", r["prog_id"], r["ifindex"], r["to_ifindex"], r["err"], r["map_id"])
        _print_growth(
            console, last, key, r["count"], f"{what} to ifindex {r['to_ifindex']}: {r['error']}"
        )


def _print_growth(console: Console, last: dict[Any, int], key: Any, count: int, text: str) -> None:
    """Print "TEXT: COUNT (+delta)" in red when COUNT moved since the last report."""
    from rich.text import Text

    delta = count - last.get(key, 0)
    if delta:
        last[key] = count
        console.print(Text(f"{text}: {count:,} (+{delta:,})", style="red"))


def _print_monitor_summary(console: Console, report: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="XDP exceptions since start", title_justify="left")
    for col in ("prog id", "program", "action", "interface"):
        table.add_column(col)
    table.add_column("count", justify="right")
    for e in report["exceptions"]:
        table.add_row(
            str(e["prog_id"]), e["prog_name"], e["action_name"], e["dev"], f"{e['count']:,}"
        )
    if not report["exceptions"]:
        table.add_row("-", "-", "-", "-", "0")
    console.print(table)
    if report["redirect_errors"]:
        redir = Table(title="redirect errors", title_justify="left")
        for col in ("prog id", "program", "from", "to ifindex", "error"):
            redir.add_column(col)
        redir.add_column("count", justify="right")
        for r in report["redirect_errors"]:
            redir.add_row(
                str(r["prog_id"]),
                r["prog_name"],
                r["dev"],
                str(r["to_ifindex"]),
                r["error"],
                f"{r['count']:,}",
            )
        console.print(redir)
    sys.stdout.flush()
