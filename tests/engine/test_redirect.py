"""`wire_redirect` and `xdp-tui env redirect`: packet03's devmap redirect between two labs.

The packet03 solution's xdp_redirect_map_func runs natively on both labs'
outer ends; once the maps are filled both ways, the inner ends answer
each other's pings through XDP alone (the host does not forward: the
per-interface forwarding knobs of fresh lab interfaces stay off).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testenv import packets, traffic
from xdp_tui import paths
from xdp_tui.checks import read_stats
from xdp_tui.engine import bpfsys, session
from xdp_tui.engine.build import build_or_raise
from xdp_tui.engine.redirect import PROGRAM, wire_redirect
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel

SOLUTION = paths.lessons_dir() / "packet03-redirecting" / "solution" / "xdp_prog_kern.c"


@pytest.fixture(scope="module")
def solution_obj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_or_raise(SOLUTION, tmp_path_factory.mktemp("p03") / "p03.o").obj


@pytest.fixture
def load(solution_obj: Path) -> Iterator[Callable[..., session.LoadedProgram]]:
    """load(lab, program=PROGRAM): attach natively; detached and unpinned afterwards."""
    loaded: list[session.LoadedProgram] = []

    def _load(lab: object, program: str = PROGRAM) -> session.LoadedProgram:
        prog = session.load_program(solution_obj, lab.outer, program=program, mode="native")  # type: ignore[attr-defined]
        loaded.append(prog)
        return prog

    yield _load
    for prog in loaded:
        prog.close()
        with contextlib.suppress(Exception):
            session.unload(prog.dev)


def _redirected(prog: session.LoadedProgram) -> int:
    return read_stats(prog.maps["xdp_stats_map"])["XDP_REDIRECT"]["packets"]


def _forwarding_off(lab: object) -> bool:
    outer = lab.outer  # type: ignore[attr-defined]
    knobs = [f"ipv6/conf/{outer}/forwarding", f"ipv4/conf/{outer}/forwarding"]
    return all(Path("/proc/sys/net", knob).read_text().strip() == "0" for knob in knobs)


def test_wired_labs_ping_each_other_through_xdp(make_lab, load) -> None:
    left, right = make_lab("rl"), make_lab("rr")
    on_left, on_right = load(left), load(right)
    assert traffic.ping(right, 2, interval=0.01, timeout=0.2, dst=left.inner_ipv6).received == 0

    report = wire_redirect(left, right)

    assert (report["src"], report["dst"], report["notes"]) == (left.name, right.name, [])
    tx_ports = {w["map"]: w["value"] for w in report["written"] if w["map"].endswith("tx_port")}
    assert tx_ports == {
        f"/sys/fs/bpf/{left.outer}/tx_port": f"{right.outer_ifindex} ({right.outer})",
        f"/sys/fs/bpf/{right.outer}/tx_port": f"{left.outer_ifindex} ({left.outer})",
    }
    # What the kernel holds, read back through the pins.
    for here, there in ((left, right), (right, left)):
        with bpfsys.obj_get(paths.pin_dir(here.outer) / "tx_port") as fd:
            value = bpfsys.lookup(fd, struct.pack("=I", 0), 4)
            assert value == struct.pack("=I", there.outer_ifindex)
        with bpfsys.obj_get(paths.pin_dir(here.outer) / "redirect_params") as fd:
            value = bpfsys.lookup(fd, packets.mac_bytes(here.inner_mac), 6)
            assert value == packets.mac_bytes(there.inner_mac)

    before = _redirected(on_left), _redirected(on_right)
    assert _forwarding_off(left) and _forwarding_off(right)
    result = traffic.ping(right, 3, interval=0.01, dst=left.inner_ipv6)
    assert result.answered_seqs == [1, 2, 3]
    # Requests redirected on right's outer end, replies on left's.
    assert _redirected(on_right) - before[1] >= 3 and _redirected(on_left) - before[0] >= 3

    # Wiring again is harmless (same values).
    assert wire_redirect(right.name, left.name)["dst"] == left.name


def test_missing_pins_change_nothing(make_lab, load) -> None:
    left, right = make_lab("rm"), make_lab("rn")
    load(left)
    with pytest.raises(XdpTuiError) as caught:
        wire_redirect(left, right)
    error = caught.value
    assert f"load {PROGRAM} on both labs first" in (error.hint or "")
    assert f"--dev {right.outer}" in (error.hint or "")
    assert error.location == str(paths.pin_dir(right.outer) / "tx_port")
    with bpfsys.obj_get(paths.pin_dir(left.outer) / "tx_port") as fd:
        assert bpfsys.lookup(fd, struct.pack("=I", 0), 4) is None  # left untouched


def test_same_lab_twice_and_other_programs(make_lab, load) -> None:
    left, right = make_lab("rs"), make_lab("rt")
    with pytest.raises(XdpTuiError, match="both ends"):
        wire_redirect(left, left.name)
    # The whole object's maps are pinned whichever function runs: the maps
    # get filled, with a note that nothing redirects yet.
    load(left, "xdp_pass_func")
    load(right)
    notes = wire_redirect(left, right)["notes"]
    assert len(notes) == 1 and "xdp_pass_func" in notes[0] and left.outer in notes[0]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "xdp_tui", "env", *args]
    return subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))


def test_cli_redirect_then_ping_to(make_lab, load) -> None:
    left, right = make_lab("rc"), make_lab("rd")

    done = _cli("redirect", left.name, right.name)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"load {PROGRAM} on both labs first" in done.stderr
    done = _cli("redirect", left.name, "no-such-lab")
    assert done.returncode != 0 and "Traceback" not in done.stderr

    load(left)
    load(right)
    done = _cli("redirect", left.name, right.name, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["written"]) == 4 and report["notes"] == []
    macs = {w["key"]: w["value"] for w in report["written"] if w["map"].endswith("params")}
    assert macs == {left.inner_mac: right.inner_mac, right.inner_mac: left.inner_mac}

    done = _cli(
        "ping", "-n", left.name, "--to", right.inner_ipv6, "-c", "3", "-i", "0.01", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["answered_seqs"] == [1, 2, 3]
