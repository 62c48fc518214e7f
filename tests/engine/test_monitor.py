"""monitor: xdp_exception counts with bcc, trace_pipe printk lines, bcc quirks."""

from __future__ import annotations

import ctypes as C
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testenv import traffic
from xdp_tui.engine import _lib, monitor
from xdp_tui.engine.monitor import ExceptionMonitor, TracePipe, parse_trace_line
from xdp_tui.errors import XdpTuiError

from .test_stats import _cli


@pytest.fixture(scope="module")
def exc_monitor() -> Iterator[ExceptionMonitor]:
    """One bcc compile for the module (it takes about half a second)."""
    with ExceptionMonitor() as mon:
        yield mon


@pytest.mark.kernel
def test_aborted_traffic_counted_by_prog_and_action(
    lab: object, load_on_lab: Callable[..., object], exc_monitor: ExceptionMonitor
) -> None:
    lp = load_on_lab(lab, "xdp_abort_count")
    sent = traffic.udp_stream(lab, count=3000).sent
    counts = exc_monitor.counts()
    # stray IPv6 control frames from the lab are aborted too
    assert sent <= counts[(lp.prog_id, 0)] <= sent + 3
    (entry,) = [e for e in exc_monitor.exceptions() if e.prog_id == lp.prog_id]
    assert entry.action_name == "XDP_ABORTED"
    assert entry.ifindex == lab.outer_ifindex  # type: ignore[attr-defined]
    assert exc_monitor.redirect_errors == [] or all(
        r.prog_id != lp.prog_id for r in exc_monitor.redirect_errors
    )


@pytest.mark.kernel
def test_pass_traffic_is_no_exception(
    lab: object, load_on_lab: Callable[..., object], exc_monitor: ExceptionMonitor
) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    traffic.udp_stream(lab, count=100)
    assert all(prog_id != lp.prog_id for prog_id, _ in exc_monitor.counts())


@pytest.mark.kernel
def test_libbpf_print_callback_survives_bcc(exc_monitor: ExceptionMonitor) -> None:
    # libbpf_set_print returns the previous printer: it must still be ours, not NULL.
    ours = C.cast(_lib._callback_ref, C.c_void_p).value
    assert _lib._set_print(C.cast(_lib._callback_ref, C.c_void_p)) == ours


@pytest.mark.kernel
def test_printk_line_from_trace_pipe(lab: object, load_on_lab: Callable[..., object]) -> None:
    with TracePipe() as pipe:
        pipe.read()  # drop what earlier programs printed
        load_on_lab(lab, "xdp_printk")
        traffic.udp_stream(lab, count=3, size=120)
        stop = threading.Event()
        threading.Timer(10.0, stop.set).start()  # a safety net, not a timing assertion
        found = None
        for line in pipe.follow(stop, poll=0.1):
            if line.message == "xdp-tui-test len=120":
                found = line
                stop.set()
    assert found is not None
    assert found.event == "bpf_trace_printk" and found.cpu >= 0 and found.time > 0


def test_parse_trace_lines() -> None:
    old = parse_trace_line(
        "          python-10054   [000] d.s21   598.428031: bpf_trace_printk: lab abort len=67"
    )
    assert old is not None
    assert (old.task, old.pid, old.cpu, old.time) == ("python", 10054, 0, 598.428031)
    assert old.message == "lab abort len=67"
    new = parse_trace_line("  <idle>-0       (-------) [001] ..s2.  12.5: bpf_trace_printk: x: y")
    assert new is not None and new.task == "<idle>" and new.message == "x: y"
    assert parse_trace_line("garbage") is None


def test_tracefs_not_mounted_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(monitor, "TRACEFS_DIRS", (tmp_path / "a", tmp_path / "b"))
    with pytest.raises(XdpTuiError) as info:
        monitor.trace_pipe_path()
    assert "mount -t tracefs tracefs /sys/kernel/tracing" in (info.value.hint or "")


def test_bcc_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fault we cannot provoke on this machine: bcc not installed.
    monkeypatch.setitem(sys.modules, "bcc", None)
    with pytest.raises(XdpTuiError) as info:
        ExceptionMonitor().start()
    assert "setup.sh install" in (info.value.hint or "")


def _cli_monitor_while_aborting(lab: object, *options: str) -> subprocess.CompletedProcess[str]:
    """`xdp-tui monitor` for 3 s while the lab's aborting program gets frames."""
    result: dict[str, subprocess.CompletedProcess[str]] = {}

    def run() -> None:
        result["out"] = _cli(["monitor", *options, "--duration", "3", "--interval", "0.5"])

    worker = threading.Thread(target=run)
    worker.start()
    # send until the monitor has compiled and counted something (it reports every 0.5 s)
    while worker.is_alive():
        traffic.udp_stream(lab, count=200)
        time.sleep(0.2)
    return result["out"]


@pytest.mark.kernel
def test_cli_monitor_json(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_abort_count")
    out = _cli_monitor_while_aborting(lab, "--json")
    assert out.returncode == 0, out.stderr
    reports = [json.loads(line) for line in out.stdout.splitlines()]
    assert reports and {"time", "exceptions", "redirect_errors", "printk"} <= set(reports[-1])
    mine = [e for e in reports[-1]["exceptions"] if e["prog_id"] == lp.prog_id]
    assert mine and mine[0]["action"] == 0 and mine[0]["count"] > 0
    assert mine[0]["prog_name"] == "xdp_abort_count"
    assert out.stderr == ""


@pytest.mark.kernel
def test_cli_monitor_text_prints_what_grew(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_abort_count")
    out = _cli_monitor_while_aborting(lab)
    assert out.returncode == 0, out.stderr
    mine = f"exception: XDP_ABORTED from xdp_abort_count (prog id {lp.prog_id}) on {lab.name}: "
    assert mine in out.stdout and "(+" in out.stdout  # rich wraps long lines in a pipe


@pytest.mark.kernel
def test_a_second_trace_pipe_reader_is_told_why() -> None:
    from xdp_tui.engine.monitor import TracePipe
    from xdp_tui.errors import XdpTuiError

    with TracePipe(), pytest.raises(XdpTuiError) as caught, TracePipe():
        pass
    assert "only one reader at a time" in (caught.value.hint or "")


def _wait_for_message(pipe: Any, message: str) -> bool:
    stop = threading.Event()
    threading.Timer(10.0, stop.set).start()  # a safety net, not a timing assertion
    for line in pipe.follow(stop, poll=0.1):
        if line.message == message:
            stop.set()
            return True
    return False


@pytest.mark.kernel
def test_private_readers_each_get_every_line_and_leave_the_global_one_its_own(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    from xdp_tui.engine.monitor import PrivateTracePipe, open_printk_reader

    with TracePipe() as shared, open_printk_reader() as first, PrivateTracePipe() as second:
        assert isinstance(first, PrivateTracePipe)  # this kernel has trace instances
        for pipe in (shared, first, second):
            pipe.read()  # drop what earlier programs printed
        load_on_lab(lab, "xdp_printk")
        traffic.udp_stream(lab, count=2, size=120)
        for pipe in (first, second, shared):
            assert _wait_for_message(pipe, "xdp-tui-test len=120")
        instances = (first.instance, second.instance)
        assert all(folder.is_dir() for folder in instances)
    assert not any(folder.exists() for folder in instances)  # removed on close


@pytest.mark.kernel
def test_without_trace_instances_the_global_pipe_is_used_and_a_busy_one_explained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from xdp_tui.engine import monitor
    from xdp_tui.errors import XdpTuiError

    def no_instances(self: object) -> None:  # a kernel without tracefs instances (a fake)
        raise XdpTuiError("no trace instances")

    monkeypatch.setattr(monitor.PrivateTracePipe, "open", no_instances)
    with monitor.open_printk_reader() as reader:
        assert type(reader) is TracePipe
        with pytest.raises(XdpTuiError) as caught:
            monitor.open_printk_reader()
    assert "one reader at a time" in (caught.value.hint or "")


@pytest.mark.kernel
def test_printk_formats_of_a_loaded_program(lab: object, load_on_lab: Any) -> None:
    """Another tool's program: its bpf_printk formats come from its .rodata map, read only."""
    from xdp_tui.engine.monitor import PrintkFilter, printk_formats_of_program

    lp = load_on_lab(lab, "xdp_printk")
    formats = printk_formats_of_program(lp.prog_id)
    assert "xdp-tui-test len=%d" in formats
    assert PrintkFilter(formats).matches("xdp-tui-test len=98")
    assert not PrintkFilter(formats).matches("someone else's line")
