"""One live sample of the attached program: everything the TUI's Live view shows, typed.

The workbench's live feed builds a `LiveSample` four times a second from the
stats sampler (`stats.StatsSampler.sample()`, the `stats --json` shape), the
exception monitor and the bpf_printk reader; the Live widgets draw it as is.
The JSON shape is read here and nowhere else, so widgets never guess keys.
No Textual here: this module belongs to the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Union

from xdp_tui.engine.actions import action_name

# Labels of the readings without BTF (maps.VALUE_U64_WORDS, VALUE_HEX), for every face;
# spelled out here because widgets import this module and maps loads libbpf.
VALUE_FORMAT_LABELS = {"u64_words": "no BTF: u64 words", "hex": "no BTF: hex"}

if TYPE_CHECKING:  # only types: widgets import this module, and libbpf loads late
    from xdp_tui.engine.afxdp import XskRates
    from xdp_tui.engine.monitor import ExceptionMonitor, TraceLine

# A decoded map key or value: numbers, strings, structs (dicts) and arrays (lists).
MapValue = Union[int, float, str, bool, None, list["MapValue"], dict[str, "MapValue"]]  # noqa: UP007


@dataclass(frozen=True)
class ActionRate:
    """One row of the per-action table: totals and rates since the previous sample."""

    action: str  # "XDP_PASS", ...
    packets: int
    bytes: int
    pps: float
    bps: float


@dataclass(frozen=True)
class MapEntry:
    key: MapValue
    value: MapValue


@dataclass(frozen=True)
class MapSnapshot:
    """One map of the program, decoded."""

    name: str
    type: str
    entries: tuple[MapEntry, ...] = ()
    truncated: bool = False  # more entries than were read
    note: str = ""  # why there are no entries (a ring buffer, ...)
    value_format: str = "btf"  # maps.VALUE_*: "u64_words" and "hex" are readings without BTF

    @property
    def value_label(self) -> str:
        """How to read the values when BTF did not say ("no BTF: u64 words"), else "";
        "" too when no value is shown (an xsks_map lists none: nothing there is hex)."""
        return VALUE_FORMAT_LABELS.get(self.value_format, "") if self.entries else ""


@dataclass(frozen=True)
class InterfaceRates:
    rx_pps: float
    tx_pps: float
    rx_bps: float
    tx_bps: float


@dataclass(frozen=True)
class RunRates:
    """Program run statistics (BPF_ENABLE_STATS); ns_per_run None when unknown."""

    run_cnt: int
    ns_per_run: float | None
    runs_per_s: float


@dataclass(frozen=True)
class ExceptionTotal:
    """XDP_ABORTED (or another failed verdict) seen by the xdp_exception tracepoint."""

    prog_id: int
    action: str
    count: int


@dataclass(frozen=True)
class RedirectErrorTotal:
    """Failed redirects of one program, by reason (strerror of the kernel's errno)."""

    prog_id: int
    error: str
    count: int


@dataclass(frozen=True)
class MonitorTotals:
    """The exception monitor's running totals since it started."""

    exceptions: tuple[ExceptionTotal, ...] = ()
    redirect_errors: tuple[RedirectErrorTotal, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.exceptions and not self.redirect_errors

    def of_program(self, prog_id: int | None, stand_ins: Iterable[int] = ()) -> MonitorTotals:
        """Only PROG_ID's totals (the monitor counts every program on the machine: checks'
        private labs, other sessions); those of STAND_INS (a capture's twin that ran in its
        place) are counted as its own."""
        if prog_id is None:
            return MonitorTotals()
        own = {prog_id, *stand_ins}
        exceptions: dict[str, int] = {}
        for e in self.exceptions:
            if e.prog_id in own:
                exceptions[e.action] = exceptions.get(e.action, 0) + e.count
        redirects: dict[str, int] = {}
        for r in self.redirect_errors:
            if r.prog_id in own:
                redirects[r.error] = redirects.get(r.error, 0) + r.count
        return MonitorTotals(
            exceptions=tuple(ExceptionTotal(prog_id, a, n) for a, n in sorted(exceptions.items())),
            redirect_errors=tuple(
                RedirectErrorTotal(prog_id, err, n) for err, n in sorted(redirects.items())
            ),
        )


@dataclass(frozen=True)
class LiveSample:
    """What the Live view shows at one moment."""

    time: float
    dev: str
    prog_id: int | None  # None: no program on the interface
    prog_name: str = ""
    actions: tuple[ActionRate, ...] = ()
    actions_map: str | None = None  # the map the actions come from (not shown twice)
    maps: tuple[MapSnapshot, ...] = ()
    interface: InterfaceRates | None = None
    run: RunRates | None = None
    monitor: MonitorTotals = field(default_factory=MonitorTotals)
    trace: tuple[str, ...] = ()  # bpf_printk lines read since the previous sample
    xsk: XskRates | None = None  # the workshop's AF_XDP socket, when the program has an xsks_map
    xsk_note: str = ""  # e.g. why the socket does not answer
    # Whose program this is when not this session's: "another tool's program", ... ("": ours).
    # The Live view shows it read-only: xdp-tui never detaches it, unpins or writes its maps.
    foreign: str = ""

    def same_numbers(self, other: LiveSample | None) -> bool:
        """OTHER shows exactly what this shows (trace lines aside: they are new each time)."""
        if other is None:
            return False
        return replace(self, time=0.0, trace=()) == replace(other, time=0.0, trace=())

    def action(self, name: str) -> ActionRate | None:
        return next((row for row in self.actions if row.action == name), None)


# ---- building one from the engine's parts ------------------------------------


def from_stats(
    stats: Mapping[str, Any],
    monitor: MonitorTotals | None = None,
    trace: Iterable[TraceLine] = (),
) -> LiveSample:
    """A LiveSample from one `StatsSampler.sample()` (the `stats --json` object)."""
    actions = stats.get("actions") or {}
    return LiveSample(
        time=float(stats.get("time") or 0.0),
        dev=str(stats.get("dev") or ""),
        prog_id=stats.get("prog_id") or None,
        prog_name=str(stats.get("prog_name") or ""),
        actions=tuple(
            ActionRate(name, int(row["packets"]), int(row["bytes"]), row["pps"], row["bps"])
            for name, row in actions.items()
        ),
        actions_map=_stats_map_name() if actions else None,
        maps=tuple(_map(name, spec) for name, spec in (stats.get("maps") or {}).items()),
        interface=_interface(stats.get("interface")),
        run=_run(stats.get("run")),
        monitor=monitor or MonitorTotals(),
        trace=tuple(f"{line.task}-{line.pid} {line.message}" for line in trace),
    )


def monitor_totals(monitor: ExceptionMonitor) -> MonitorTotals:
    """The monitor's totals, exceptions summed over interfaces, redirect errors by reason."""
    exceptions = tuple(
        ExceptionTotal(prog_id, action_name(action, "action {}"), count)
        for (prog_id, action), count in sorted(monitor.counts().items())
    )
    redirects: dict[tuple[int, str], int] = {}
    for error in monitor.redirect_errors:
        key = (error.prog_id, error.error)
        redirects[key] = redirects.get(key, 0) + error.count
    return MonitorTotals(
        exceptions=exceptions,
        redirect_errors=tuple(
            RedirectErrorTotal(prog_id, error, count)
            for (prog_id, error), count in sorted(redirects.items())
        ),
    )


def _stats_map_name() -> str:
    from xdp_tui.engine.stats import STATS_MAP

    return STATS_MAP


def _map(name: str, spec: Mapping[str, Any]) -> MapSnapshot:
    return MapSnapshot(
        name=name,
        type=str(spec.get("type", "?")),
        entries=tuple(MapEntry(e["key"], e["value"]) for e in spec.get("entries") or ()),
        truncated=bool(spec.get("truncated")),
        note=str(spec.get("note") or ""),
        value_format=str(spec.get("value_format") or "btf"),
    )


def _interface(raw: Mapping[str, Any] | None) -> InterfaceRates | None:
    if not raw:
        return None
    return InterfaceRates(raw["rx_pps"], raw["tx_pps"], raw["rx_bps"], raw["tx_bps"])


def _run(raw: Mapping[str, Any] | None) -> RunRates | None:
    if not raw:
        return None
    return RunRates(int(raw["run_cnt"]), raw.get("ns_per_run"), float(raw["runs_per_s"]))
