"""Opening and loading objects through libbpf; verifier refusals explained and located."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import new_lab_name
from xdp_tui import paths
from xdp_tui.engine.build import build_or_raise
from xdp_tui.engine.libbpf import BpfObject
from xdp_tui.engine.verifier import VerifierError
from xdp_tui.errors import XdpTuiError


def _refusal(source: Path, program: str | None = None) -> VerifierError:
    result = build_or_raise(source)
    with (
        BpfObject.open(result.obj, source=result.source) as obj,
        pytest.raises(VerifierError) as caught,
    ):
        obj.load(program)
    return caught.value


def test_lists_programs_and_maps(prog: Callable[[str], Path]) -> None:
    obj_path = build_or_raise(prog("counter")).obj
    with BpfObject.open(obj_path) as obj:
        assert obj.xdp_programs == ["xdp_count_pass", "xdp_count_drop"]
        assert [(p.section, p.type) for p in obj.programs] == [("xdp", "xdp")] * 2
        [spec] = obj.maps
        assert (spec.name, spec.type, spec.key_size, spec.value_size, spec.max_entries) == (
            "xdp_stats_map",
            "percpu_array",
            4,
            16,
            5,
        )


@pytest.mark.kernel
def test_loads_only_the_chosen_program(prog: Callable[[str], Path]) -> None:
    obj_path = build_or_raise(prog("counter")).obj
    with BpfObject.open(obj_path) as obj:
        assert obj.load("xdp_count_drop") == "xdp_count_drop"
        assert obj.program_fd("xdp_count_drop") >= 0
        assert obj.map_fd("xdp_stats_map") >= 0
        with pytest.raises(XdpTuiError, match="not loaded"):
            obj.program_fd("xdp_count_pass")


def test_legacy_map_definitions_say_how_to_declare_the_map(prog: Callable[[str], Path]) -> None:
    obj_path = build_or_raise(prog("legacy_maps")).obj
    with pytest.raises(XdpTuiError) as caught:
        BpfObject.open(obj_path)
    assert "bpf_map_def" in caught.value.message and 'SEC(".maps")' in (caught.value.hint or "")


@pytest.mark.kernel
def test_a_tail_call_target_set_up_in_c_is_loaded_with_the_entry(
    prog: Callable[[str], Path],
) -> None:
    obj_path = build_or_raise(prog("tail_call")).obj
    with BpfObject.open(obj_path) as obj:
        assert obj.load("xdp_entry") == "xdp_entry"  # was EBADF: "failed to initialize slot"
        assert obj.program_fd("xdp_drop_stage") >= 0


def test_unknown_program_name_lists_the_available_ones(prog: Callable[[str], Path]) -> None:
    obj_path = build_or_raise(prog("two_progs")).obj
    with BpfObject.open(obj_path) as obj, pytest.raises(XdpTuiError) as caught:
        obj.load("xdp_nope")
    assert "xdp_nope" in caught.value.message
    assert "xdp_pass_func (section xdp), xdp_drop_func (section xdp)" in caught.value.message


def test_several_xdp_programs_and_no_name_asks_to_choose(prog: Callable[[str], Path]) -> None:
    obj_path = build_or_raise(prog("two_progs")).obj
    with BpfObject.open(obj_path) as obj, pytest.raises(XdpTuiError) as caught:
        obj.load()
    assert (
        "choose one: xdp_pass_func (section xdp), xdp_drop_func (section xdp)"
        in caught.value.message
    )


@pytest.mark.kernel
def test_packet_access_without_bounds_check_names_the_source_line(
    prog: Callable[[str], Path],
) -> None:
    source = prog("bad_bounds")
    err = _refusal(source)
    report = err.report
    assert report.source_file == str(source)
    assert report.source_line == 11
    assert "eth->h_proto" in (report.source_text or "")
    assert report.insn == 1
    assert "invalid access to packet" in report.error_text
    assert "data_end" in report.explanation
    assert err.location == f"{source}:11"
    assert "instruction 1" in err.message and "eth->h_proto" in err.message
    assert "processed" in (err.detail or "")  # the whole log rides along


@pytest.mark.kernel
def test_map_value_possibly_null_is_explained(prog: Callable[[str], Path]) -> None:
    source = prog("map_null")
    report = _refusal(source).report
    assert "map_value_or_null" in report.error_text
    assert report.source_line == 17 and "*count" in (report.source_text or "")
    assert "NULL" in report.explanation


@pytest.mark.kernel
def test_gpl_only_helper_without_gpl_license_is_explained(prog: Callable[[str], Path]) -> None:
    report = _refusal(prog("gpl_only")).report
    assert "GPL-restricted" in report.error_text
    assert report.source_line == 9
    assert 'SEC("license")' in report.explanation


@pytest.mark.kernel
def test_endless_loop_is_explained(prog: Callable[[str], Path]) -> None:
    report = _refusal(prog("endless_loop")).report
    assert "infinite loop" in report.error_text
    assert report.source_line in (10, 11)
    assert "loop" in report.explanation


@pytest.mark.kernel
def test_program_too_large_is_explained(prog: Callable[[str], Path]) -> None:
    # A bounded loop of five million turns: the verifier gives up after a million
    # instructions (this takes it a few seconds).
    report = _refusal(prog("too_large")).report
    assert "too large" in report.error_text
    assert report.source_line in (19, 20, 21, 22)  # inside the loop
    assert "million instructions" in report.explanation


def test_no_program_section(prog: Callable[[str], Path]) -> None:
    obj_path = build_or_raise(prog("no_section")).obj
    with pytest.raises(XdpTuiError, match="no program section") as caught:
        BpfObject.open(obj_path)
    assert 'SEC("xdp")' in (caught.value.hint or "")


def test_empty_and_non_elf_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.o"
    empty.write_bytes(b"")
    with pytest.raises(XdpTuiError, match="empty") as caught:
        BpfObject.open(empty)
    assert caught.value.location == str(empty)
    text = tmp_path / "notes.o"
    text.write_text("hello")
    with pytest.raises(XdpTuiError, match="not an ELF"):
        BpfObject.open(text)
    with pytest.raises(XdpTuiError, match="no such object"):
        BpfObject.open(tmp_path / "missing.o")
    fifo = tmp_path / "fifo.o"
    os.mkfifo(fifo)
    with pytest.raises(XdpTuiError, match="not a regular file"):
        BpfObject.open(fifo)
    sparse = tmp_path / "sparse.o"  # ELF magic, then 8 GiB of nothing: read whole before
    with sparse.open("wb") as out:
        out.write(b"\x7fELF")
        out.truncate(8 << 30)
    with pytest.raises(XdpTuiError, match="a BPF object is at most"):
        BpfObject.open(sparse)


@pytest.fixture
def pin_root() -> Iterator[Path]:
    root = paths.pin_dir(new_lab_name("pin"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.kernel
def test_compatible_pin_is_reused_and_incompatible_pin_is_explained(
    prog: Callable[[str], Path], pin_root: Path
) -> None:
    counter = build_or_raise(prog("counter")).obj
    with BpfObject.open(counter) as first:
        first.load("xdp_count_pass", pin_dir=pin_root)
        assert first.pinned_now == [pin_root / "xdp_stats_map"]
    with BpfObject.open(counter) as second:
        second.load("xdp_count_drop", pin_dir=pin_root)
        assert second.reused_pins == [pin_root / "xdp_stats_map"]
        assert second.pinned_now == []

    other = build_or_raise(prog("counter_other_shape")).obj
    with BpfObject.open(other) as third, pytest.raises(XdpTuiError) as caught:
        third.load(pin_dir=pin_root)
    err = caught.value
    assert err.location == str(pin_root / "xdp_stats_map")
    assert "different shape" in err.message
    assert f"rm {pin_root / 'xdp_stats_map'}" in (err.hint or "")
    assert (pin_root / "xdp_stats_map").exists()  # the old pin is left for the user to decide


@pytest.mark.kernel
def test_failed_load_leaves_no_new_pins(prog: Callable[[str], Path], pin_root: Path) -> None:
    source = prog("map_null")
    obj_path = build_or_raise(source).obj
    with BpfObject.open(obj_path) as obj, pytest.raises(VerifierError):
        obj.load(pin_dir=pin_root)
    assert list(pin_root.iterdir()) == []


@pytest.mark.kernel
def test_pin_by_name_maps_go_to_the_pin_dir_or_nowhere(
    prog: Callable[[str], Path], pin_root: Path
) -> None:
    obj_path = build_or_raise(prog("pin_by_name")).obj
    default_pin = paths.bpffs_root() / "xdptui_by_name"
    with BpfObject.open(obj_path) as obj:
        obj.load()  # no pin_dir: no pin at all (not the global /sys/fs/bpf/<map>)
    assert not default_pin.exists()
    with BpfObject.open(obj_path) as obj:
        obj.load(pin_dir=pin_root)
    assert (pin_root / "xdptui_by_name").exists() and not default_pin.exists()


@pytest.mark.kernel
def test_instruction_without_a_line_takes_the_nearest_earlier_one(
    prog: Callable[[str], Path],
) -> None:
    # packet01's VLAN loop without its bounds check: the refused load is
    # compiler-made code logged as `@ file:0`.
    source = prog("vlan_no_bounds")
    err = _refusal(source)
    report = err.report
    assert "invalid access to packet" in report.error_text
    assert report.line_approximate
    assert report.source_line == 34 and "is_vlan(proto)" in (report.source_text or "")
    assert err.location == f"{source}:34"
    assert "(near if (!is_vlan(proto)))" in err.message


@pytest.mark.kernel
def test_log_view_interleaves_source_and_marks_the_refused_instruction(
    prog: Callable[[str], Path],
) -> None:
    from xdp_tui.engine.verifier import log_view, render_log_view

    source = prog("vlan_no_bounds")
    report = _refusal(source).report
    view = log_view(report)
    assert view.explanation == report.explanation
    assert f"at instruction {report.insn}" in view.headline and str(source) in view.headline
    refused = view.lines[view.failing_index or 0]
    assert refused.kind == "insn" and refused.insn == report.insn and refused.failing
    sources = [line for line in view.lines if line.kind == "source"]
    assert (34, "if (!is_vlan(proto))") in [(s.source_line, s.text) for s in sources]
    assert any(s.source_line is None for s in sources)  # the line-0 entries, said so
    assert [ln.text for ln in view.lines if ln.kind == "error"][0].startswith(
        "invalid access to packet"
    )
    text = render_log_view(view)
    assert text.splitlines()[0] == view.headline
    assert f">> {report.insn}: (" in text
    assert "  34 | if (!is_vlan(proto))" in text
