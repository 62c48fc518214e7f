"""engine.live: the typed live sample, shaped from the sampler's output (pure logic, no root)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from xdp_tui.engine.live import (
    ActionRate,
    ExceptionTotal,
    InterfaceRates,
    LiveSample,
    MapEntry,
    MonitorTotals,
    RedirectErrorTotal,
    RunRates,
    from_stats,
    monitor_totals,
)
from xdp_tui.engine.monitor import ExceptionMonitor, RedirectError, TraceLine

STATS: dict[str, Any] = {  # one StatsSampler.sample(), as `xdp-tui stats --json` prints it
    "time": 1764064800.5,
    "dev": "lab1",
    "prog_id": 42,
    "prog_name": "xdp_stats1_func",
    "maps": {
        "xdp_stats_map": {"type": "percpu_array", "entries": [{"key": 2, "value": 7}]},
        "flows": {
            "type": "hash",
            "entries": [{"key": {"port": 9}, "value": [1, 2]}],
            "truncated": True,
        },  # fmt: skip
        "events": {"type": "ringbuf", "entries": [], "note": "read with a reader"},
    },
    "actions": {"XDP_PASS": {"packets": 7, "bytes": 700, "pps": 2.0, "bps": 1600.0}},
    "interface": {
        "rx_packets": 9,
        "rx_pps": 3.0,
        "tx_pps": 0.0,
        "rx_bps": 2400.0,
        "tx_bps": 0.0,
    },  # fmt: skip
    "run": {"run_cnt": 7, "run_time_ns": 350, "ns_per_run": 50.0, "runs_per_s": 2.0},
}


def test_every_part_of_a_stats_sample_is_typed() -> None:
    trace = [TraceLine("ping", 12, 0, 1.0, "bpf_trace_printk", "hello")]
    totals = MonitorTotals(exceptions=(ExceptionTotal(42, "XDP_ABORTED", 3),))
    sample = from_stats(STATS, totals, trace)
    assert sample.dev == "lab1" and sample.prog_id == 42 and sample.prog_name == "xdp_stats1_func"
    assert sample.actions == (ActionRate("XDP_PASS", 7, 700, 2.0, 1600.0),)
    assert sample.action("XDP_PASS") == sample.actions[0] and sample.action("XDP_DROP") is None
    assert sample.actions_map == "xdp_stats_map"
    flows = next(m for m in sample.maps if m.name == "flows")
    assert flows.entries == (MapEntry({"port": 9}, [1, 2]),) and flows.truncated
    assert next(m for m in sample.maps if m.name == "events").note == "read with a reader"
    assert sample.interface == InterfaceRates(3.0, 0.0, 2400.0, 0.0)
    assert sample.run == RunRates(7, 50.0, 2.0)
    assert sample.monitor == totals
    assert sample.trace == ("ping-12 hello",)


def test_a_sample_without_program_or_extras() -> None:
    sample = from_stats({"time": 1.0, "dev": "lab1", "prog_id": None, "maps": {}})
    assert sample.prog_id is None and sample.actions == () and sample.actions_map is None
    assert sample.interface is None and sample.run is None and sample.monitor.empty


def test_same_numbers_ignores_time_and_trace_only() -> None:
    sample = from_stats(STATS)
    later = replace(sample, time=sample.time + 0.25, trace=("ping-12 again",))
    assert sample.same_numbers(later)
    assert not sample.same_numbers(None)
    moved = replace(sample, actions=(ActionRate("XDP_PASS", 8, 800, 4.0, 3200.0),))
    assert not sample.same_numbers(moved)
    aborted = replace(sample, monitor=MonitorTotals((ExceptionTotal(42, "XDP_ABORTED", 1),)))
    assert not sample.same_numbers(aborted)


class _CountedMonitor(ExceptionMonitor):
    """The monitor's two readings, fixed (its bcc program needs root and a kernel)."""

    def __init__(self, counts: dict[tuple[int, int], int], errors: list[RedirectError]) -> None:
        super().__init__()
        self._fixed_counts, self._fixed_errors = counts, errors

    def counts(self) -> dict[tuple[int, int], int]:
        return self._fixed_counts

    @property
    def redirect_errors(self) -> list[RedirectError]:
        return self._fixed_errors


def test_monitor_totals_name_actions_and_sum_redirect_errors_by_reason() -> None:
    down = "Network is down"
    errors = [
        RedirectError(7, ifindex=3, to_ifindex=5, err=-100, error=down, map_id=0, count=2),
        RedirectError(7, ifindex=4, to_ifindex=5, err=-100, error=down, map_id=0, count=3),
        RedirectError(
            7, ifindex=3, to_ifindex=6, err=-6, error="No such device", map_id=0, count=1
        ),  # fmt: skip
    ]
    totals = monitor_totals(_CountedMonitor({(7, 0): 570, (7, 9): 1}, errors))
    assert totals.exceptions == (
        ExceptionTotal(7, "XDP_ABORTED", 570),
        ExceptionTotal(7, "action 9", 1),
    )
    assert totals.redirect_errors == (
        RedirectErrorTotal(7, down, 5),
        RedirectErrorTotal(7, "No such device", 1),
    )
    assert isinstance(from_stats(STATS, totals), LiveSample)


def test_monitor_totals_keep_only_the_shown_programs_own_with_its_stand_ins_counted() -> None:
    """The monitor counts every program on the machine (checks' private labs, other
    sessions): Live shows the shown program's own, a capture twin's counted as its own."""
    totals = MonitorTotals(
        exceptions=(
            ExceptionTotal(7, "XDP_ABORTED", 2),
            ExceptionTotal(8, "XDP_ABORTED", 3),  # its capture twin
            ExceptionTotal(9, "XDP_ABORTED", 50),  # a check's private lab
        ),
        redirect_errors=(RedirectErrorTotal(9, "Network is down", 4),),
    )
    own = totals.of_program(7, {8})
    assert own.exceptions == (ExceptionTotal(7, "XDP_ABORTED", 5),)
    assert own.redirect_errors == ()
    assert totals.of_program(None).empty
    assert totals.of_program(10).empty
