"""Only ours: recorded pins, replaced shapes, busy devices, clean, forced and vanished
interfaces (issues 12, 13 and 10)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import testenv
from xdp_tui import paths, pins
from xdp_tui.engine import attach as attach_mod
from xdp_tui.engine import bpfsys, session
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel
REPO = Path(__file__).resolve().parents[2]
Cli = Callable[..., tuple[int, str, str]]


def _bpftool_map(pin: Path, kind: str, value_size: int, entries: int) -> None:
    """A map pinned by another tool (bpftool), in the lab's pin folder."""
    pin.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["bpftool", "map", "create", str(pin), "type", kind, "key", "4", "value",
         str(value_size), "entries", str(entries), "name", pin.name[:15]],
        check=True,
        capture_output=True,
    )  # fmt: skip


@pytest.fixture
def foreign_pin(lab: Any) -> Iterator[Path]:
    """A map another tool pinned in the lab's pin folder; removed after the test."""
    pin = paths.pin_dir(lab.outer) / "foreign_map"
    _bpftool_map(pin, "array", 8, 1)
    yield pin
    pin.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        pin.parent.rmdir()


def _xdp_tui(*argv: str, clang: str = "clang") -> subprocess.Popen[str]:
    """A real `xdp-tui` process with this test run's private state."""
    return subprocess.Popen(
        [sys.executable, "-m", "xdp_tui", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "XDP_TUI_CLANG": clang},
    )


# ---- pins xdp-tui did not create survive ------------------------------------


def test_a_foreign_pin_survives_load_unload_and_teardown(
    lab: Any, prog: Callable[[str], Path], foreign_pin: Path, run_cli: Cli
) -> None:
    code, _, err = run_cli(
        "load", str(prog("counter")), "--dev", lab.outer, "--prog", "xdp_count_pass"
    )
    assert code == 0, err
    ours = paths.pin_dir(lab.outer) / "xdp_stats_map"
    assert pins.is_ours(lab.outer, ours) and not pins.is_ours(lab.outer, foreign_pin)
    code, out, _ = run_cli("unload", "--dev", lab.outer)
    assert code == 0 and f"removed pin {ours}" in out
    assert foreign_pin.exists() and not ours.exists()

    assert (
        run_cli("load", str(prog("counter")), "--dev", lab.outer, "--prog", "xdp_count_pass")[0]
        == 0
    )
    testenv.teardown(lab.name)
    assert foreign_pin.exists() and not ours.exists()


def test_a_link_pin_of_another_tool_is_not_replaced(
    lab: Any, prog: Callable[[str], Path], run_cli: Cli
) -> None:
    squatter = paths.pin_dir(lab.outer) / attach_mod.LINK_PIN_NAME
    _bpftool_map(squatter, "array", 8, 1)
    try:
        code, _, err = run_cli("load", str(prog("xdp_pass")), "--dev", lab.outer)
        assert code == 1 and "xdp-tui did not create it" in err
        assert squatter.exists() and attach_mod.query(lab.outer).prog_id is None
    finally:
        squatter.unlink()


# ---- shapes: ours replaced with a notice, another tool's explained ------------


def test_a_map_xdp_tui_pinned_is_replaced_when_its_shape_changes(
    lab: Any, prog: Callable[[str], Path], run_cli: Cli
) -> None:
    assert (
        run_cli("load", str(prog("counter")), "--dev", lab.outer, "--prog", "xdp_count_pass")[0]
        == 0
    )
    code, out, err = run_cli("load", str(prog("counter_other_shape")), "--dev", lab.outer)
    assert code == 0, err
    pin = paths.pin_dir(lab.outer) / "xdp_stats_map"
    assert (
        f"note: replaced the map pinned at {pin}: its shape changed (was percpu_array, key 4 B, "
        "value 16 B, 5 entries, now percpu_array, key 4 B, value 8 B, 5 entries); "
        "its counters restart from zero"
    ) in out
    with bpfsys.obj_get(pin) as fd:
        assert bpfsys.map_info(int(fd)).value_size == 8
    assert pins.is_ours(lab.outer, pin)  # the new pin is ours too
    assert run_cli("unload", "--dev", lab.outer)[0] == 0
    assert not pin.exists()


def test_the_load_result_carries_the_notice_for_the_tui(
    lab: Any, prog: Callable[[str], Path]
) -> None:
    with session.load_program(prog("counter"), lab.outer, program="xdp_count_pass"):
        pass
    with session.load_program(prog("counter_other_shape"), lab.outer) as loaded:
        assert any("its counters restart from zero" in note for note in loaded.notes)
        assert loaded.replaced_maps == [str(paths.pin_dir(lab.outer) / "xdp_stats_map")]
        assert "its counters restart from zero" in " ".join(loaded.to_dict()["notes"])  # type: ignore[arg-type]
    with session.load_program(prog("counter_other_shape"), lab.outer) as again:
        assert not any("replaced the map" in note for note in again.notes)
        assert any("reused pinned map(s) xdp_stats_map" in note for note in again.notes)
    session.unload(lab.outer)


def test_a_foreign_pin_of_another_shape_is_explained_and_kept(
    lab: Any, prog: Callable[[str], Path], run_cli: Cli
) -> None:
    pin = paths.pin_dir(lab.outer) / "xdp_stats_map"
    _bpftool_map(pin, "percpu_array", 8, 5)
    try:
        code, _, err = run_cli(
            "load", str(prog("counter")), "--dev", lab.outer, "--prog", "xdp_count_pass"
        )
        assert code == 1
        assert "pinned at" in err and "by another tool (not xdp-tui)" in err
        assert "never removes pins it did not create" in err and "--no-pin" in err
        assert pin.exists() and attach_mod.query(lab.outer).prog_id is None
    finally:
        pin.unlink()


# ---- names -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["tc", "ip", "xdp", "globals"])
def test_lab_names_of_other_tools_bpffs_folders_are_refused(name: str) -> None:
    with pytest.raises(XdpTuiError, match="folder other tools use in /sys/fs/bpf"):
        testenv.setup(name, make_current=False)
    assert not Path(f"/var/run/netns/{name}").exists() or name in _netns_before()


def _netns_before() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_unknown_devices_are_named_as_such(run_cli: Cli, prog: Callable[[str], Path]) -> None:
    for argv in (
        ("load", str(prog("xdp_pass")), "--dev", "nosuchdevhD"),
        ("load", str(prog("xdp_pass")), "--dev", "nosuchdevhD", "--force"),
        ("unload", "--dev", "nosuchdevhD"),
        ("status", "--dev", "nosuchdevhD"),
    ):
        code, _, err = run_cli(*argv)
        assert code == 1 and "no interface named 'nosuchdevhD'" in err, argv
        assert "not a lab interface" not in err


# ---- concurrent loads ------------------------------------------------------------


def test_a_load_while_another_holds_the_device_is_told_it_is_busy(
    lab: Any, prog: Callable[[str], Path]
) -> None:
    with session.device_lock(lab.outer):
        proc = _xdp_tui("load", str(prog("xdp_pass")), "--dev", lab.outer)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"{lab.outer} is busy: another xdp-tui (process {os.getpid()})" in err
    assert attach_mod.query(lab.outer).prog_id is None


def test_two_loads_at_once_one_wins_the_other_is_busy(
    lab: Any, prog: Callable[[str], Path], tmp_path: Path
) -> None:
    # The first load's clang waits for a go-ahead file, so the second load
    # surely comes while the first holds the device (both real processes).
    go = tmp_path / "go"
    gated = tmp_path / "gated-clang"
    gated.write_text(f'#!/bin/sh\nwhile [ ! -e {go} ]; do sleep 0.02; done\nexec clang "$@"\n')
    gated.chmod(0o755)
    other = tmp_path / "other.c"
    other.write_text(prog("xdp_pass").read_text().replace("xdp_pass_all", "xdp_pass_other"))
    first = _xdp_tui("load", str(prog("xdp_pass")), "--dev", lab.outer, clang=str(gated))
    try:
        lock = paths.run_dir() / "locks" / f"{lab.outer}.lock"
        _wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid))
        second = _xdp_tui("load", str(other), "--dev", lab.outer)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert f"{lab.outer} is busy: another xdp-tui (process {first.pid})" in err
    finally:
        go.touch()
        _, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    status = attach_mod.query(lab.outer)
    assert status.ours and status.prog_name == "xdp_pass_all"
    session.unload(lab.outer)


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ---- forced and vanished interfaces, clean -----------------------------------------


def test_a_forced_interface_is_in_status_and_unloads_with_force(
    foreign_veth: str, prog: Callable[[str], Path], run_cli: Cli
) -> None:
    code, _, err = run_cli("load", str(prog("counter")), "--dev", foreign_veth, "--prog",
                           "xdp_count_pass", "--force")  # fmt: skip
    assert code == 0, err
    code, out, _ = run_cli("status")
    assert f"{foreign_veth}: xdp_count_pass" in out and "attached by xdp-tui" in out
    code, _, err = run_cli("unload", "--dev", foreign_veth)
    assert (
        code == 2 and "because --force was given" in err and f"--dev {foreign_veth} --force" in err
    )
    code, out, _ = run_cli("unload", "--dev", foreign_veth, "--force")
    assert code == 0 and "detached" in out
    assert attach_mod.query(foreign_veth).prog_id is None
    assert not paths.pin_dir(foreign_veth).exists()


def test_clean_removes_what_a_deleted_interface_left(
    lab: Any, prog: Callable[[str], Path], run_cli: Cli, foreign_pin: Path
) -> None:
    code, out, err = run_cli("load", str(prog("counter")), "--dev", lab.outer, "--prog",
                             "xdp_count_pass", "--json")  # fmt: skip
    assert code == 0, err
    prog_id = int(out.split('"prog_id": ')[1].split(",")[0])
    subprocess.run(["ip", "link", "del", lab.outer], check=True)
    bpfsys.prog_info_by_id(prog_id)  # the pinned link keeps it loaded

    code, out, _ = run_cli("status")
    assert (
        f"{lab.outer}: interface gone; xdp-tui's leftovers for it remain (`xdp-tui clean`)" in out
    )
    code, out, _ = run_cli("clean")
    assert code == 0 and f"{lab.outer} (interface gone):" in out
    folder = paths.pin_dir(lab.outer)
    assert f"removed pin {folder / 'xdp_link'}" in out
    assert f"removed pin {folder / 'xdp_stats_map'}" in out
    assert foreign_pin.exists()  # not ours: stays
    assert attach_mod.read_record(lab.outer) is None
    with pytest.raises(XdpTuiError):
        _wait_gone(prog_id)
    assert run_cli("clean")[1].startswith("nothing to clean")


def _wait_gone(prog_id: int) -> None:
    """Raise once the program is freed (the kernel frees it a moment after the last pin)."""
    import time

    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        bpfsys.prog_info_by_id(prog_id)
        time.sleep(0.01)


def test_unload_of_a_vanished_forced_interface_removes_its_leftovers(
    prog: Callable[[str], Path], run_cli: Cli
) -> None:
    from tests.conftest import new_lab_name

    name = new_lab_name("gone")
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
                   check=True)  # fmt: skip
    try:
        code, _, err = run_cli("load", str(prog("xdp_pass")), "--dev", name, "--force")
        assert code == 0, err
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)
    code, out, err = run_cli("unload", "--dev", name, "--force")
    assert code == 0, err
    assert f"removed pin {paths.pin_dir(name) / 'xdp_link'}" in out
    assert not paths.pin_dir(name).exists() and attach_mod.read_record(name) is None


# ---- pins never block a lesson (issue 10, item 1), through the TUI's workbench ----------


def test_basic03_shape_changes_rebuild_in_the_app_with_a_notice(make_lab: Any) -> None:
    from xdp_tui.workbench import Workbench

    lab = make_lab("b03")
    bench = Workbench(lab=lab.name)
    lesson = next(x for x in bench.lessons() if x.id == "basic03-map-counter")
    source = bench.source_path(lesson)
    starter = source.read_text()
    try:
        bench.build_and_attach(lesson, None)
        assert not any("replaced the map" in note for note in bench.notes())
        # Assignment 1 as the README says: a second counter (the value grows to 16 bytes).
        source.write_text(
            starter.replace("__u64 rx_packets;", "__u64 rx_packets;\n\t__u64 rx_bytes;")
        )
        attached = bench.build_and_attach(lesson, None)
        assert attached.handle.replaced_maps == [str(paths.pin_dir(lab.outer) / "xdp_stats_map")]
        assert any("value 8 B" in n and "value 16 B" in n for n in bench.notes())
        # Assignment 3: per-CPU.
        per_cpu = source.read_text().replace("BPF_MAP_TYPE_ARRAY", "BPF_MAP_TYPE_PERCPU_ARRAY")
        source.write_text(per_cpu)
        bench.build_and_attach(lesson, None)
        assert any("was array" in n and "now percpu_array" in n for n in bench.notes())
    finally:
        source.write_text(starter)
        bench.close()


def test_a_link_pinned_before_pins_were_recorded_still_unloads(
    lab: Any, prog: Callable[[str], Path], run_cli: Cli
) -> None:
    assert run_cli("load", str(prog("xdp_pass")), "--dev", lab.outer)[0] == 0
    (paths.run_dir() / "pins" / f"{lab.outer}.json").unlink()  # as an older xdp-tui left it
    link_pin = paths.pin_dir(lab.outer) / attach_mod.LINK_PIN_NAME
    assert not pins.is_ours(lab.outer, link_pin)
    code, out, err = run_cli("unload", "--dev", lab.outer)
    assert code == 0 and "detached" in out, err
    assert not link_pin.exists() and attach_mod.query(lab.outer).prog_id is None
