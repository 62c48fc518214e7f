"""bpfsys: program/map info, fd by id, id iteration, raw reads, pins, run-time stats."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from testenv import traffic
from xdp_tui.engine import _lib, bpfsys
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel

BTF_MAGIC = b"\x9f\xeb"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_prog_and_map_info(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    info = bpfsys.prog_info_by_id(lp.prog_id)
    assert info.id == lp.prog_id
    assert info.name == "xdp_pass_count"
    assert info.type_name == "xdp"
    assert len(info.tag) == 16 and info.xlated_len > 0 and info.btf_id > 0

    maps = {bpfsys.map_info_by_id(m).name: bpfsys.map_info_by_id(m) for m in info.map_ids}
    stats = maps["xdp_stats_map"]
    assert (stats.type, stats.type_name, stats.per_cpu) == (6, "percpu_array", True)
    assert (stats.key_size, stats.value_size, stats.max_entries) == (4, 16, 5)
    assert stats.btf_id == info.btf_id and stats.btf_value_type_id > 0
    assert maps["flows"].type_name == "hash" and maps["flows"].key_size == 8
    assert maps["by_mac"].key_size == 6
    assert lp.prog_id in set(bpfsys.prog_ids())
    assert set(info.map_ids) <= set(bpfsys.map_ids())


def test_btf_raw_is_btf(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    info = bpfsys.prog_info_by_id(lp.prog_id)
    with bpfsys.btf_fd_by_id(info.btf_id) as fd:
        raw = bpfsys.btf_raw(fd)
    assert raw[:2] == BTF_MAGIC and len(raw) > 100


def test_keys_lookup_and_per_cpu_layout(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    traffic.udp_stream(lab, count=50, size=80)
    fd = lp.maps["xdp_stats_map"]
    keys = bpfsys.map_keys(fd, 4)
    assert keys == [struct.pack("I", k) for k in range(5)]
    per_cpu = bpfsys.lookup(fd, struct.pack("I", 2), 16, per_cpu=True)
    assert isinstance(per_cpu, list) and len(per_cpu) == _lib.num_possible_cpus()
    packets = sum(struct.unpack("QQ", v)[0] for v in per_cpu)
    assert packets >= 50
    batch = bpfsys.lookup_batch(fd, 4, 16, 5, per_cpu=True)
    assert batch is not None and [k for k, _ in batch] == keys
    assert bpfsys.lookup(lp.maps["flows"], b"\xff" * 8, 8) is None  # absent key


def test_update_and_delete(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    fd = lp.maps["flows"]
    key = struct.pack("IHBB", 1, 2, 3, 4)
    bpfsys.update(fd, key, struct.pack("Q", 99))
    assert bpfsys.lookup(fd, key, 8) == struct.pack("Q", 99)
    assert bpfsys.delete(fd, key) is True
    assert bpfsys.delete(fd, key) is False


def test_fds_are_closed(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    from xdp_tui.engine import build

    build.waiting_compiler()  # the next build's clang starts after the load, with its pipes
    before = _open_fds()
    for _ in range(50):
        info = bpfsys.prog_info_by_id(lp.prog_id)
        for map_id in info.map_ids:
            bpfsys.map_info_by_id(map_id)
        with bpfsys.prog_fd_by_id(lp.prog_id) as fd:
            assert fd > 2
    assert _open_fds() == before


def test_pinned_map_by_path(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count", pin_maps=True)
    pin = Path("/sys/fs/bpf") / lab.name / "xdp_stats_map"  # type: ignore[attr-defined]
    assert pin.exists()
    with bpfsys.obj_get(pin) as fd:
        assert bpfsys.map_info(fd).id == bpfsys.map_info(lp.maps["xdp_stats_map"]).id


def test_missing_objects_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(XdpTuiError, match="map id 4294967295"):
        bpfsys.map_fd_by_id(0xFFFFFFFF)
    with pytest.raises(XdpTuiError, match="pinned object"):
        bpfsys.obj_get(tmp_path / "nothing")


def test_run_stats_fd_counts_runs(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    with bpfsys.enable_stats():
        before = bpfsys.prog_info_by_id(lp.prog_id).run_cnt
        traffic.udp_stream(lab, count=100)
        after = bpfsys.prog_info_by_id(lp.prog_id)
    assert after.run_cnt - before >= 100
    assert after.run_time_ns > 0
    # the sysctl was never touched: closing the fd turns accounting off again
    assert Path("/proc/sys/kernel/bpf_stats_enabled").read_text().strip() == "0"


def test_buffers_of_the_wrong_size_are_refused_before_the_kernel_sees_them(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    """The kernel copies the map's sizes from and into our buffers: a short one would be overrun."""
    lp = load_on_lab(lab, "xdp_pass_count")
    flows, stats = lp.maps["flows"], lp.maps["xdp_stats_map"]  # 8-byte keys, 8-byte values
    key = struct.pack("IHBB", 1, 2, 3, 4)
    with pytest.raises(XdpTuiError, match="8-byte keys; got 4 bytes"):
        bpfsys.update(flows, key[:4], struct.pack("Q", 1))
    with pytest.raises(XdpTuiError, match="takes 8 bytes"):
        bpfsys.update(flows, key, b"\1\2")
    with pytest.raises(XdpTuiError, match="8-byte values; got 4 bytes"):
        bpfsys.lookup(flows, key, 4)
    with pytest.raises(XdpTuiError, match="8-byte keys"):
        bpfsys.delete(flows, key + b"\0")
    with pytest.raises(XdpTuiError, match="is a per-CPU map"):
        bpfsys.update(stats, struct.pack("I", 0), b"\0" * 16)
    with pytest.raises(XdpTuiError, match=f"{_lib.num_possible_cpus()} values of 16 bytes"):
        bpfsys.update(stats, struct.pack("I", 0), [b"\0" * 16])
    with pytest.raises(XdpTuiError, match="4-byte keys; got 8"):
        bpfsys.map_keys(stats, 8)
    assert bpfsys.lookup(flows, key, 8) is None  # nothing was written


def test_a_failed_call_carries_its_errno(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    fd = lp.maps["flows"]
    key = struct.pack("IHBB", 1, 2, 3, 4)
    bpfsys.update(fd, key, struct.pack("Q", 1))
    with pytest.raises(_lib.CallError, match=r"File exists \(EEXIST\)") as caught:
        bpfsys.update(fd, key, struct.pack("Q", 2), flags=bpfsys.BPF_NOEXIST)
    assert caught.value.errno == 17
