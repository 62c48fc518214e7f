"""Attach, status, detach on real lab veths; links that die with their process; pins."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testenv import traffic
from tests.conftest import new_lab_name
from tests.engine.conftest import percpu_datarec_sum
from xdp_tui import paths
from xdp_tui.engine import attach as attach_mod
from xdp_tui.engine import session
from xdp_tui.engine.build import build_or_raise
from xdp_tui.engine.libbpf import BpfObject
from xdp_tui.errors import UnsafeInterfaceError, XdpTuiError

pytestmark = pytest.mark.kernel
XDP_PASS = 2
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", ["native", "skb"])
def test_attach_in_a_mode_and_status(lab: Any, prog: Callable[[str], Path], mode: str) -> None:
    with BpfObject.open(build_or_raise(prog("xdp_pass")).obj) as obj:
        obj.load()
        att = attach_mod.attach(lab.outer, obj.program_fd("xdp_pass_all"), mode)  # type: ignore[arg-type]
        try:
            status = attach_mod.query(lab.outer)
            assert status.to_dict() == {
                "dev": lab.outer,
                "prog_id": att.prog_id,
                "prog_name": "xdp_pass_all",
                "mode": mode,
                "ours": True,
            }
        finally:
            att.close()
    assert attach_mod.query(lab.outer).prog_id is None


def test_second_attach_is_refused_with_a_clear_message(
    lab: Any, prog: Callable[[str], Path]
) -> None:
    other = build_or_raise(prog("two_progs")).obj
    with (
        session.load_program(prog("xdp_pass"), lab.outer, mode="skb"),
        BpfObject.open(other) as obj,
    ):
        obj.load("xdp_drop_func")
        fd = obj.program_fd("xdp_drop_func")
        with pytest.raises(XdpTuiError, match="already has program xdp_pass_all"):
            attach_mod.attach(lab.outer, fd, "skb")
        with pytest.raises(XdpTuiError, match="native and generic"):
            attach_mod.attach(lab.outer, fd, "native")


def test_native_load_puts_a_pass_program_on_the_inner_peer(
    lab: Any, prog: Callable[[str], Path]
) -> None:
    with session.load_program(prog("xdp_pass"), lab.outer, mode="native") as loaded:
        assert loaded.mode == "native"
        peer = attach_mod.query(lab.inner, netns=lab.netns)
        assert peer.prog_name == "xdp_tui_peer_pass" and peer.ours
        assert any(lab.inner in note for note in loaded.notes)
    assert attach_mod.query(lab.inner, netns=lab.netns).prog_id is None
    assert attach_mod.query(lab.outer).prog_id is None


def test_skb_load_leaves_the_inner_peer_alone(lab: Any, prog: Callable[[str], Path]) -> None:
    with session.load_program(prog("xdp_pass"), lab.outer, mode="skb") as loaded:
        assert loaded.mode == "skb" and loaded.peer is None
        assert attach_mod.query(lab.inner, netns=lab.netns).prog_id is None


def _child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_kill_9_of_the_holding_process_leaves_nothing_attached(
    lab: Any, prog: Callable[[str], Path]
) -> None:
    child = _child(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from xdp_tui.engine import session\n"
        f"loaded = session.load_program(Path({str(prog('xdp_pass'))!r}), {lab.outer!r})\n"
        "print(loaded.prog_id, flush=True)\n"
        "time.sleep(600)\n"
    )
    try:
        line = child.stdout.readline()  # type: ignore[union-attr]
        assert line.strip().isdigit(), child.stderr.read()  # type: ignore[union-attr]
        status = attach_mod.query(lab.outer)
        assert status.prog_id == int(line) and status.ours and status.mode == "native"
        assert attach_mod.query(lab.inner, netns=lab.netns).prog_id is not None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert attach_mod.query(lab.outer).prog_id is None
    assert attach_mod.query(lab.inner, netns=lab.netns).prog_id is None


def test_persistent_load_survives_its_process_until_unload(
    lab: Any, prog: Callable[[str], Path]
) -> None:
    child = _child(
        "from pathlib import Path\n"
        "from xdp_tui.engine import session\n"
        f"loaded = session.load_program(Path({str(prog('counter'))!r}), {lab.outer!r},"
        " program='xdp_count_pass', persistent=True)\n"
        "loaded.close()\n"
        "print(loaded.prog_id, flush=True)\n"
    )
    out, err = child.communicate()
    assert child.returncode == 0, err
    status = attach_mod.query(lab.outer)
    assert status.prog_id == int(out) and status.ours and status.prog_name == "xdp_count_pass"
    assert (paths.pin_dir(lab.outer) / "xdp_link").exists()
    assert (paths.pin_dir(lab.outer) / "xdp_stats_map").exists()

    summary = session.unload(lab.outer)
    assert summary["detached"] and summary["peer_detached"]
    assert attach_mod.query(lab.outer).prog_id is None
    assert attach_mod.query(lab.inner, netns=lab.netns).prog_id is None
    assert not paths.pin_dir(lab.outer).exists()


def test_pinned_map_is_reused_across_a_reload_with_its_counts(
    lab: Any, prog: Callable[[str], Path]
) -> None:
    source = prog("counter")
    frames = [traffic.build_udp_frame(lab, port=9)] * 25
    with session.load_program(source, lab.outer, program="xdp_count_pass") as first:
        traffic.send_frames(lab, frames)
        counted = percpu_datarec_sum(first.maps["xdp_stats_map"], XDP_PASS)
    assert counted[0] >= 25
    with session.load_program(source, lab.outer, program="xdp_count_pass") as second:
        assert any("reused pinned map" in note for note in second.notes)
        assert percpu_datarec_sum(second.maps["xdp_stats_map"], XDP_PASS) == counted
        traffic.send_frames(lab, frames)
        after = percpu_datarec_sum(second.maps["xdp_stats_map"], XDP_PASS)
    assert after[0] == counted[0] + 25


def test_non_lab_interface_is_refused(foreign_veth: str, prog: Callable[[str], Path]) -> None:
    with pytest.raises(UnsafeInterfaceError) as caught:
        session.load_program(prog("xdp_pass"), foreign_veth)
    assert "not a lab interface" in caught.value.message
    assert "SSH" in (caught.value.hint or "")
    assert attach_mod.query(foreign_veth).prog_id is None
    assert not paths.pin_dir(foreign_veth).exists()
    with BpfObject.open(build_or_raise(prog("xdp_pass")).obj) as obj:
        obj.load()
        with pytest.raises(UnsafeInterfaceError):
            attach_mod.attach(foreign_veth, obj.program_fd("xdp_pass_all"))


def test_forced_attach_on_a_non_lab_interface(
    foreign_veth: str, prog: Callable[[str], Path]
) -> None:
    with session.load_program(prog("xdp_pass"), foreign_veth, mode="skb", force=True) as loaded:
        assert attach_mod.query(foreign_veth).prog_id == loaded.prog_id
    assert attach_mod.query(foreign_veth).prog_id is None


def test_failed_attach_undoes_the_load_and_its_pins(
    lab: Any, prog: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fake: the attach failing after the maps were pinned is hard to provoke for real.
    def refuse(*args: object, **kwargs: object) -> None:
        raise XdpTuiError("attach refused (test)")

    monkeypatch.setattr(attach_mod, "attach", refuse)
    with pytest.raises(XdpTuiError, match="attach refused"):
        session.load_program(prog("counter"), lab.outer, program="xdp_count_pass")
    assert attach_mod.query(lab.outer).prog_id is None
    assert not (paths.pin_dir(lab.outer) / "xdp_stats_map").exists()


def test_detach_of_a_foreign_program_needs_force(lab: Any, prog: Callable[[str], Path]) -> None:
    obj_path = build_or_raise(prog("xdp_pass")).obj
    subprocess.run(
        ["ip", "link", "set", "dev", lab.outer, "xdpgeneric", "obj", str(obj_path), "sec", "xdp"],
        check=True,
        capture_output=True,
    )
    status = attach_mod.query(lab.outer)
    assert status.prog_id and not status.ours and status.mode == "skb"
    with pytest.raises(XdpTuiError, match="not attached by xdp-tui"):
        attach_mod.detach(lab.outer)
    with pytest.raises(XdpTuiError, match="another tool"):
        session.load_program(prog("xdp_pass"), lab.outer)
    assert attach_mod.detach(lab.outer, force=True)
    assert attach_mod.query(lab.outer).prog_id is None


def test_xdp_tx_in_native_mode_reaches_the_inner_end(lab: Any, prog: Callable[[str], Path]) -> None:
    """The XDP_PASS program we put on veth0 is what lets XDP_TX frames arrive there."""
    payload = b"xdp-tui bounce test"
    frame = traffic.build_udp_frame(lab, port=9, payload=payload)
    with session.load_program(prog("xdp_tx_swap"), lab.outer, mode="native") as loaded:
        assert loaded.peer is not None
        with traffic.packet_socket(lab, receive=True) as sock:
            sock.settimeout(5.0)  # a bound on waiting, not a timing assertion
            traffic.send_frames(lab, [frame])
            while True:
                got = sock.recv(2048)
                if payload in got:
                    break
    assert got[:6] == frame[6:12] and got[6:12] == frame[:6]  # MACs swapped by the program


def test_every_load_shares_one_loaded_peer_program(lab: Any, prog: Callable[[str], Path]) -> None:
    """The inner peer's XDP_PASS program is loaded once per process; close() keeps it loaded."""
    with session.load_program(prog("xdp_pass"), lab.outer, mode="native"):
        first = attach_mod.query(lab.inner, netns=lab.netns).prog_id
    assert attach_mod.query(lab.inner, netns=lab.netns).prog_id is None
    with session.load_program(prog("xdp_pass"), lab.outer, mode="native"):
        assert attach_mod.query(lab.inner, netns=lab.netns).prog_id == first


def test_auto_mode_falls_back_to_generic_without_driver_support(
    prog: Callable[[str], Path],
) -> None:
    """An ifb device has no native XDP: "auto" must end up in skb mode, as the kernel's own auto."""
    name = new_lab_name("ifb")
    subprocess.run(["ip", "link", "add", name, "type", "ifb"], check=True, capture_output=True)
    try:
        with BpfObject.open(build_or_raise(prog("xdp_pass")).obj) as obj:
            obj.load()
            att = attach_mod.attach(name, obj.program_fd("xdp_pass_all"), "auto", force=True)
            try:
                assert att.mode == "skb"
                assert attach_mod.query(name).mode == "skb"
            finally:
                att.close()
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)
