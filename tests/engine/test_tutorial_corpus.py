"""Programs in the original tutorial's style build and load as shipped (issue 12).

The corpus in `tutorial/` is ours, written with the tutorial's habits:
relative `../common/` includes through glibc headers, legacy `xdp_*`
section names, several programs per object, other program types, an atomic
whose result is used, programs the verifier must refuse.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testenv import packets, traffic
from xdp_tui.engine import bpfsys, session
from xdp_tui.engine import build as build_mod
from xdp_tui.engine.build import BuildError, build, build_or_raise
from xdp_tui.engine.libbpf import BpfObject
from xdp_tui.engine.verifier import VerifierError
from xdp_tui.errors import XdpTuiError

CORPUS = Path(__file__).resolve().parent / "tutorial"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the corpus (objects are built next to the sources)."""
    target = tmp_path / "tutorial"
    shutil.copytree(CORPUS, target)
    return target


# ---- build as shipped ---------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "packet_solutions/xdp_prog_kern.c",
        "experiments/xdp_fail_kern.c",
        "other_types/mixed_kern.c",
        "atomics/xdp_atomic_kern.c",
    ],
)
def test_every_corpus_file_builds_as_shipped(corpus: Path, source: str) -> None:
    result = build(corpus / source)
    assert result.ok, result.raw
    assert result.errors == []


def test_relative_includes_resolve_from_the_source_folder(corpus: Path) -> None:
    result = build_or_raise(corpus / "packet_solutions/xdp_prog_kern.c")
    stamp = json.loads(result.obj.with_name(result.obj.name + ".xdp-tui-build.json").read_text())
    deps = [str(Path(d).resolve()) for d in stamp["deps"]]
    assert str(corpus / "common" / "parsing_helpers.h") in deps
    assert str(corpus / "common" / "vlan.h") in deps  # included from the header's own folder
    assert any(d.endswith("gnu/stubs-32.h") for d in deps)  # glibc's headers were reached


def test_include_dirs_from_the_command_line_and_the_workspace_list(
    corpus: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    source = work / "uses_vlan.c"
    source.write_text(
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include <linux/if_ether.h>\n"
        '#include "vlan.h"\n'
        'SEC("xdp") int xdp_v(struct xdp_md *ctx) { return sizeof(struct vlan_hdr) == 4 ? '
        "XDP_PASS : XDP_DROP; }\n"
    )
    assert not build(source).ok  # vlan.h is only in the corpus's common/
    assert build(source, include_dirs=[corpus / "common"]).ok
    (work / "xdp-tui.toml").write_text(f'include_dirs = ["{corpus / "common"}"]\n')
    source.write_text(source.read_text() + "/* changed */\n")
    assert build(source).ok


def test_a_bad_workspace_include_list_is_a_located_error(tmp_path: Path) -> None:
    source = tmp_path / "x.c"
    source.write_text('SEC("xdp") int f(void *c) { return 2; }\n')
    (tmp_path / "xdp-tui.toml").write_text("include_dirs = 3\n")
    with pytest.raises(XdpTuiError) as caught:
        build(source)
    assert caught.value.location == str(tmp_path / "xdp-tui.toml")
    (tmp_path / "xdp-tui.toml").write_text("include_dirs = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(XdpTuiError, match="nested too deeply"):  # was a RecursionError
        build(source)
    with pytest.raises(XdpTuiError, match="does not exist"):
        build(source, include_dirs=[tmp_path / "nope"])
    with pytest.raises(XdpTuiError, match="/dev/zero is not a folder"):
        build(source, include_dirs=[Path("/dev/zero")])


def test_the_bpf_cpu_follows_the_kernel() -> None:
    assert build_mod.bpf_cpu() == "v3"  # every kernel this project supports (5.10+)
    assert "-mcpu=v3" in build_mod.compile_flags()


def test_an_atomic_whose_result_is_used_builds(corpus: Path) -> None:
    result = build_or_raise(corpus / "atomics/xdp_atomic_kern.c")
    assert result.ok and result.warnings == []


def test_a_backend_abort_is_one_located_line_without_a_stack_dump(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a kernel older than 5.1 we would build for v2, where clang 14 aborts.
    monkeypatch.setattr(build_mod, "bpf_cpu", lambda: "v2")
    source = corpus / "atomics/xdp_atomic_kern.c"
    with pytest.raises(BuildError) as caught:
        build_or_raise(source)
    err = caught.value
    line = (
        source.read_text().splitlines().index("\tbefore = __sync_fetch_and_add(&counts->seen, 1);")
    )
    assert err.location == f"{source}:{line + 1}:1"
    assert "__sync_fetch_and_add" in err.message and "v3" in err.message
    assert "Stack dump" not in err.result.raw and "PLEASE submit" not in err.result.raw
    assert "#0 0x" not in (err.detail or "")


def test_a_clang_segfault_names_the_construct_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fake clang: a real segfault cannot be provoked on purpose in clang 14.
    fake = tmp_path / "crashing-clang"
    fake.write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        "echo 'PLEASE submit a bug report to https://github.com/llvm/llvm-project/issues/' >&2\n"
        "echo 'Stack dump:' >&2\n"
        "printf '0.\\tProgram arguments: clang -target bpf\\n' >&2\n"
        f"printf '1.\\t{tmp_path}/macro.c:7:2: current parser token \\047HUGE\\047\\n' >&2\n"
        "echo ' #0 0x00007f25c24a5291 llvm::sys::PrintStackTrace' >&2\n"
        "kill -SEGV $$\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(build_mod, "CLANG", str(fake))
    build_mod.discard_warm_compiler()
    source = tmp_path / "macro.c"
    source.write_text("int x;\n" * 8)
    result = build(source, warm_next=False)
    assert not result.ok
    [error] = result.errors
    assert (error.file, error.line, error.column) == (str(source), 7, 2)
    assert "clang crashed (SIGSEGV) at current parser token 'HUGE'" in error.message
    assert "rewrite that construct" in error.message
    assert "Stack dump" not in result.raw and "#0 0x" not in result.raw


def test_doctor_checks_the_glibc_stubs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xdp_tui import doctor

    gnu = tmp_path / "gnu"
    gnu.mkdir()
    (gnu / "stubs.h").write_text("")
    monkeypatch.setattr(build_mod, "multiarch_include_dir", lambda: tmp_path)
    missing = doctor.check_glibc_headers()
    assert not missing.ok and missing.fix == "apt-get install libc6-dev-i386"
    (gnu / "stubs-32.h").write_text("")
    assert doctor.check_glibc_headers().ok


# ---- load as shipped ---------------------------------------------------------


def test_programs_are_listed_with_sections_and_types(corpus: Path) -> None:
    obj = build_or_raise(corpus / "other_types/mixed_kern.c").obj
    with BpfObject.open(obj) as bpf:
        assert [(p.name, p.type, p.is_xdp) for p in bpf.programs] == [
            ("xdp_pass_all", "xdp", True),
            ("tc_pass_all", "sched_cls", False),
            ("trace_xdp_exception", "tracepoint", False),
        ]
        assert bpf.xdp_programs == ["xdp_pass_all"]
    obj = build_or_raise(corpus / "packet_solutions/xdp_prog_kern.c").obj
    with BpfObject.open(obj) as bpf, pytest.raises(XdpTuiError) as caught:
        bpf.load()
    assert caught.value.message.endswith(
        "choose one: xdp_patch_ports_func (section xdp_patch_ports), "
        "xdp_vlan_swap_func (section xdp_vlan_swap), xdp_pass_func (section xdp_pass)"
    )


@pytest.mark.parametrize(
    ("program", "words"),
    [
        ("tc_pass_all", "'tc_pass_all' is a sched_cls program (section tc), not XDP"),
        ("trace_xdp_exception", "is a tracepoint program (section tracepoint/xdp/xdp_exception)"),
    ],
)
def test_other_program_types_are_refused_by_type(corpus: Path, program: str, words: str) -> None:
    obj = build_or_raise(corpus / "other_types/mixed_kern.c").obj
    with BpfObject.open(obj) as bpf, pytest.raises(XdpTuiError) as caught:
        bpf.load(program)
    assert words in caught.value.message
    assert caught.value.hint == "XDP programs in this object: xdp_pass_all (section xdp)"


@pytest.mark.parametrize(
    ("program", "line_text", "words"),
    [
        ("xdp_unchecked_read", "if (eth->h_proto == 0)", "invalid access to packet"),
        ("xdp_unchecked_lookup", "*count += 1;", "map_value_or_null"),
    ],
)
def test_intentional_verifier_failures_are_refused_and_located(
    corpus: Path, program: str, line_text: str, words: str
) -> None:
    source = corpus / "experiments/xdp_fail_kern.c"
    result = build_or_raise(source)
    with BpfObject.open(result.obj, source=source) as bpf, pytest.raises(VerifierError) as caught:
        bpf.load(program)
    report = caught.value.report
    assert report.source_text is not None and line_text in report.source_text
    assert words in caught.value.message
    assert "missing BPF prog type" not in caught.value.message


@pytest.mark.kernel
def test_legacy_sections_load_attach_and_behave(corpus: Path, lab: Any) -> None:
    source = corpus / "packet_solutions/xdp_prog_kern.c"
    with session.load_program(source, lab.outer, program="xdp_patch_ports_func") as loaded:
        assert loaded.prog_name == "xdp_patch_ports_func"  # not the kernel's 15 characters
        assert bpfsys.prog_info_by_id(loaded.prog_id).name == "xdp_patch_ports_func"
        with traffic.Tap(lab, filter=lambda f: packets.parse(f).udp_ports is not None) as tap:
            traffic.send_frames(lab, [traffic.build_udp_frame(lab, 1000, b"x")])
            assert tap.wait_for(1)
        assert packets.parse(tap.frames[0]).udp_ports == (packets.SOURCE_PORT, 999)

    with session.load_program(source, lab.outer, program="xdp_vlan_swap_func"):
        tagged = bytearray(traffic.build_udp_frame(lab, 7, b"v", vlan=3))
        tagged[14] |= 0xE0  # priority 7 in the tag
        with traffic.Tap(lab) as tap:
            traffic.send_frames(lab, [bytes(tagged)])
            assert tap.wait_for(1)
        seen = tap.frames[0]
        assert seen[14] & 0xE0 == 0 and struct.unpack("!H", seen[14:16])[0] == 3
        assert traffic.ping(lab, 2, interval=0.01).received == 2


@pytest.mark.kernel
def test_the_atomics_result_drops_every_other_frame(corpus: Path, lab: Any) -> None:
    source = corpus / "atomics/xdp_atomic_kern.c"
    with session.load_program(source, lab.outer, pin_maps=False) as loaded:
        assert loaded.prog_name == "xdp_drop_every_other_udp"
        traffic.udp_stream(lab, count=20, engine="socket")
        value = bpfsys.lookup(loaded.maps["udp_count_map"], struct.pack("I", 0), 8)
        assert isinstance(value, bytes)
        assert struct.unpack("II", value) == (20, 10)


@pytest.mark.kernel
def test_a_tc_program_is_refused_before_anything_is_attached(
    corpus: Path, lab: Any, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    code, _, err = run_cli(
        "load",
        str(corpus / "other_types/mixed_kern.c"),
        "--dev",
        lab.outer,
        "--prog",
        "tc_pass_all",
    )
    assert code == 1 and "is a sched_cls program" in err and "Traceback" not in err
    from xdp_tui.engine.attach import query

    assert query(lab.outer).prog_id is None


@pytest.mark.parametrize("section", ["xdp_foo", "xdp/foo", "xdp.frags", "xdp"])
def test_any_section_starting_with_xdp_loads_as_xdp(tmp_path: Path, section: str) -> None:
    source = tmp_path / "sections.c"
    source.write_text(
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
        f'SEC("{section}") int xdp_in_a_section(struct xdp_md *ctx) {{ return XDP_PASS; }}\n'
        'char _license[] SEC("license") = "GPL";\n'
    )
    with BpfObject.open(build_or_raise(source).obj) as bpf:
        assert bpf.xdp_programs == ["xdp_in_a_section"]
        assert bpf.load() == "xdp_in_a_section"
        info = bpfsys.prog_info(bpf.program_fd("xdp_in_a_section"))
        assert info.type_name == "xdp"


def test_build_dash_i_on_the_command_line(
    corpus: Path, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    source = tmp_path / "needs_vlan.c"
    source.write_text(
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include <linux/if_ether.h>\n"
        '#include "vlan.h"\n'
        'SEC("xdp") int xdp_v(struct xdp_md *ctx) { return XDP_PASS; }\n'
    )
    code, _, err = run_cli("build", str(source))
    assert code == 1 and "'vlan.h' file not found" in err
    code, out, err = run_cli(
        "build", str(source), "-I", str(tmp_path), "-I", str(corpus / "common")
    )
    assert code == 0, err
