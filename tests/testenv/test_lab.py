"""Labs on the real kernel: creation, health, repair, teardown, naming rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import testenv
from testenv import traffic
from tests.testenv.helpers import link_exists, netns_names
from xdp_tui import paths
from xdp_tui.errors import XdpTuiError

BAD_NAMES = ["", "-lead", "a" * 16, "with space", "a/b", "dot.ted", "all", "lo", "ünï"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(XdpTuiError, match="invalid lab name"):
        testenv.validate_name(name)


@pytest.mark.parametrize("name", ["-lead", "a" * 16, "a b"])
def test_setup_refuses_bad_names(name: str) -> None:
    with pytest.raises(XdpTuiError, match="invalid lab name"):
        testenv.setup(name)


@pytest.mark.kernel
def test_two_labs_side_by_side_answer_pings(make_lab) -> None:
    first = make_lab("a", legacy_ip=True)
    second = make_lab("b", legacy_ip=True)
    assert first.number != second.number
    assert first.outer_ipv6 != second.outer_ipv6
    for lab in (first, second):
        for family in (6, 4):
            result = traffic.ping(lab, 3, family=family, interval=0.01)
            assert result.answered_seqs == [1, 2, 3], (lab.name, family)
    report = testenv.status()
    by_name = {entry["name"]: entry for entry in report["labs"]}
    assert by_name[first.name]["healthy"] and by_name[second.name]["healthy"]
    assert by_name[first.name]["ipv6"] == first.ipv6
    assert by_name[first.name]["ipv4"] == first.ipv4
    assert report["current"] == second.name


@pytest.mark.kernel
def test_lab_fields_describe_the_kernel_objects(make_lab) -> None:
    lab = make_lab("f")
    assert lab.outer == lab.name == lab.netns and lab.inner == "veth0"
    assert lab.outer_ipv6 == f"fc00:dead:cafe:{lab.number:x}::1"
    assert lab.inner_ipv6 == f"fc00:dead:cafe:{lab.number:x}::2"
    assert lab.outer_ipv4 is None and lab.ipv4 == []
    index = int(Path(f"/sys/class/net/{lab.outer}/ifindex").read_text())
    assert index == lab.outer_ifindex
    inner_index = testenv.netns_thread(lab.name, _ifindex, "veth0")
    assert inner_index == lab.inner_ifindex
    assert testenv.get(lab.name) == lab


def _ifindex(ifname: str) -> int:
    import socket

    return socket.if_nametoindex(ifname)


@pytest.mark.kernel
def test_netns_thread_runs_inside_and_reraises(make_lab) -> None:
    lab = make_lab("t")
    names = testenv.netns_thread(lab.name, lambda: sorted(n for _, n in _if_names()))
    assert names == ["lo", "veth0"]

    def boom() -> None:
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        testenv.netns_thread(lab.name, boom)
    # The caller's own thread never left the root namespace.
    assert "lo" in {n for _, n in _if_names()} and link_exists(lab.outer)


def _if_names() -> list[tuple[int, str]]:
    import socket

    return socket.if_nameindex()


@pytest.mark.kernel
def test_setup_twice_is_idempotent(make_lab) -> None:
    lab = make_lab("i")
    again = testenv.setup(lab.name)
    assert again == lab
    assert [e["name"] for e in testenv.status()["labs"]].count(lab.name) == 1


@pytest.mark.kernel
def test_setup_adds_legacy_ip_to_an_existing_lab(make_lab) -> None:
    lab = make_lab("l")
    upgraded = testenv.setup(lab.name, legacy_ip=True)
    assert upgraded.number == lab.number and upgraded.legacy_ip
    assert traffic.ping(upgraded, 2, family=4, interval=0.01).received == 2


@pytest.mark.kernel
def test_teardown_leaves_no_namespace_link_or_pin(make_lab) -> None:
    lab = make_lab("d")
    pins = paths.pin_dir(lab.name)
    pins.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["bpftool", "map", "create", str(pins / "counts"), "type", "array", "key", "4",
         "value", "8", "entries", "4", "name", "counts"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    testenv.teardown(lab.name)
    assert lab.name not in netns_names()
    assert not link_exists(lab.outer)
    # bpftool's pin is not xdp-tui's: teardown removes only the pins xdp-tui made.
    assert (pins / "counts").exists()
    (pins / "counts").unlink()
    pins.rmdir()
    assert lab.name not in [e["name"] for e in testenv.status()["labs"]]
    assert not testenv.is_lab_interface(lab.name)
    with pytest.raises(XdpTuiError, match="no lab named"):
        testenv.get(lab.name)


@pytest.mark.kernel
def test_teardown_of_unknown_lab_is_a_clear_error(lab_name) -> None:
    with pytest.raises(XdpTuiError, match="no lab named"):
        testenv.teardown(lab_name("u"))


@pytest.mark.kernel
def test_foreign_namespace_is_not_adopted(lab_name) -> None:
    name = lab_name("fo")
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        with pytest.raises(XdpTuiError, match="no lab created it"):
            testenv.setup(name)
        assert name in netns_names()  # still there: not ours to remove
        with pytest.raises(XdpTuiError, match="no lab named"):
            testenv.teardown(name)
        assert name in netns_names()
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.kernel
def test_foreign_interface_is_not_adopted() -> None:
    with pytest.raises(XdpTuiError, match="no lab created it"):
        testenv.setup("eth0" if link_exists("eth0") else "ifb0")


@pytest.mark.kernel
def test_deleted_lab_is_reported_and_repaired(make_lab) -> None:
    lab = make_lab("r", legacy_ip=True)
    subprocess.run(["ip", "netns", "del", lab.name], check=True)
    entry = _status_of(lab.name)
    assert entry["healthy"] is False
    assert any("missing" in problem for problem in entry["problems"])
    # (The outer end may linger a moment: the kernel destroys a namespace asynchronously.)

    repaired = testenv.reset(lab.name)
    assert repaired.number == lab.number and repaired.legacy_ip
    assert _status_of(lab.name)["healthy"] is True
    assert testenv.is_lab_interface(lab.name)
    assert traffic.ping(repaired, 2, interval=0.01).answered_seqs == [1, 2]
    assert traffic.ping(repaired, 2, family=4, interval=0.01).answered_seqs == [1, 2]


@pytest.mark.kernel
def test_setup_repairs_a_broken_lab(make_lab) -> None:
    lab = make_lab("s")
    subprocess.run(["ip", "link", "set", lab.outer, "down"], check=True)
    assert _status_of(lab.name)["healthy"] is False
    again = testenv.setup(lab.name)
    assert again.number == lab.number
    assert _status_of(lab.name)["healthy"] is True


def _status_of(name: str) -> dict:
    return next(e for e in testenv.status()["labs"] if e["name"] == name)


@pytest.mark.kernel
def test_is_lab_interface_only_for_our_outer_ends(make_lab) -> None:
    lab = make_lab("o")
    assert testenv.is_lab_interface(lab.outer)
    assert not testenv.is_lab_interface("lo")
    assert not testenv.is_lab_interface("veth0")
    assert not testenv.is_lab_interface("no-such-if")


@pytest.mark.kernel
def test_current_and_set_current(make_lab) -> None:
    first = make_lab("c")
    second = make_lab("c")
    assert testenv.current() == second.name
    testenv.set_current(first.name)
    assert testenv.current() == first.name
    with pytest.raises(XdpTuiError):
        testenv.set_current("nonexistent9")


@pytest.mark.kernel
def test_private_labs_leave_the_current_lab_alone(make_lab, lab_name) -> None:
    mine = make_lab("m")
    private = lab_name("pv")
    try:
        testenv.setup(private, make_current=False)
        assert testenv.current() == mine.name
        testenv.reset(private)
        assert testenv.current() == mine.name
    finally:
        testenv.teardown(private)
    assert testenv.current() == mine.name
