"""`xdp-tui trace` (a tracepoint program's counts by interface) and `xdp-tui samples`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from xdp_tui import paths
from xdp_tui.cli import main
from xdp_tui.engine import session

pytestmark = pytest.mark.kernel


def test_trace_counts_by_interface_name_as_json(
    capfd: pytest.CaptureFixture[str], prog: Callable[[str], Path], lab: Any
) -> None:
    from testenv import traffic

    source = prog("exception_counter")
    with session.load_program(source, lab.outer, program="xdp_abort_all", pin_maps=False):
        # The pings start once the command holds the program on its tracepoint.
        pinger = threading.Timer(0.5, traffic.ping, (lab, 3), {"timeout": 0.05, "interval": 0.01})
        pinger.start()
        code = main(["trace", str(source), "--prog", "count_exceptions", "--interval", "1.5",
                     "--count", "1", "--json"])  # fmt: skip
        pinger.join()
    out, _ = capfd.readouterr()
    assert code == 0
    rows = json.loads(out.strip().splitlines()[-1])["aborts"]
    assert {"ifindex": lab.outer_ifindex, "name": lab.outer, "count": 3} in rows


def test_samples_without_a_samples_map_says_what_to_load(
    capfd: pytest.CaptureFixture[str], lab: Any
) -> None:
    code = main(["samples", "--dev", lab.outer, "--count", "1"])
    _, err = capfd.readouterr()
    assert code != 0
    assert f"no map named samples is pinned for {lab.outer}" in err
    assert "xdp-tui load FILE" in err


def test_samples_writes_a_pcapng_of_the_echo_requests(
    capfd: pytest.CaptureFixture[str], lab: Any, tmp_path: Path
) -> None:
    from testenv import traffic

    source = tmp_path / "xdp_prog_kern.c"
    source.write_text(
        (paths.lessons_dir() / "tracing04-xdp-tcpdump" / "solution" / "xdp_prog_kern.c").read_text()
    )
    out_file = tmp_path / "s.pcapng"
    with session.load_program(source, lab.outer):
        pinger = threading.Timer(0.5, traffic.ping, (lab, 2), {"interval": 0.05})
        pinger.start()
        started = time.monotonic()
        code = main(["samples", "--dev", lab.outer, "--count", "2", "--duration", "5",
                     "-w", str(out_file)])  # fmt: skip
        pinger.join()
    out, _ = capfd.readouterr()
    assert code == 0 and time.monotonic() - started < 5
    assert out.count("len 118: ") == 2 and "2 samples written" in out
    assert out_file.stat().st_size > 0
