"""Paths a learner names on the command line are opened with the learner's file identity.

`sudo xdp-tui build x.c -o FILE`, `capture -w FILE`, `samples -w FILE`, `load
FILE.o`, `run --packet pcap:FILE`: root running for the learner must write
nowhere and read nothing the learner could not themselves.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.learner import LoginUser
from xdp_tui import lessons, paths
from xdp_tui.cli import main
from xdp_tui.errors import XdpTuiError

LESSON = "basic01-xdp-pass"


@pytest.fixture(autouse=True)
def _warm_compiler_setting_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's main() turns the warm compiler off for the process: back on for later tests."""
    from xdp_tui.engine import build as build_mod

    monkeypatch.setattr(build_mod, "_warm_enabled", build_mod._warm_enabled)


def _learner_source(user: LoginUser) -> Path:
    """The lesson's starter, copied into a folder of the learner's outside their data folder."""
    folder = user.home / "elsewhere"
    user.run("mkdir", "-p", str(folder))
    source = folder / "prog.c"
    starter = lessons.get_lesson(LESSON).starter_source
    user.run("cp", str(starter), str(source))
    return source


def test_build_output_is_written_as_the_learner(
    learner: LoginUser, root_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _learner_source(learner)
    assert main(["build", str(source), "-o", str(root_only)]) == 1
    err = capsys.readouterr().err
    assert "Permission denied" in err and "Traceback" not in err
    assert root_only.read_text() == "root secret\n"  # not replaced by an ELF object
    assert not any(p.name.endswith(".xdp-tui-build.json") for p in root_only.parent.iterdir())

    assert main(["build", str(source)]) == 0
    obj = source.with_suffix(".o")
    assert obj.stat().st_uid == learner.uid  # the learner's object, in the learner's folder
    assert Path(f"{obj}.xdp-tui-build.json").stat().st_uid == learner.uid


def test_a_fifo_planted_as_the_build_stamp_does_not_hang_the_build(learner: LoginUser) -> None:
    from xdp_tui.engine.build import build

    source = _learner_source(learner)
    learner.run("mkfifo", f"{source.with_suffix('.o')}.xdp-tui-build.json")
    assert build(source, warm_next=False, learner_output=True).ok


def test_an_object_is_read_as_the_learner(learner: LoginUser, root_only: Path) -> None:
    from xdp_tui.engine.build import build
    from xdp_tui.engine.session import object_for

    source = _learner_source(learner)
    secret_object = root_only.with_name("secret.o")
    built = build(source, secret_object, warm_next=False)  # root's own object, root-only
    assert built.ok, built.raw
    secret_object.chmod(0o600)
    planted = source.with_name("planted.o")
    learner.run("ln", "-s", str(secret_object), str(planted))
    with pytest.raises(XdpTuiError, match="Permission denied"):
        object_for(planted)

    own = source.with_name("own.o")
    shutil.copy(secret_object, own)
    os.chown(own, learner.uid, learner.gid)
    loaded, _, _ = object_for(own)
    assert loaded.read_bytes() == own.read_bytes()
    assert paths.run_dir() in loaded.parents  # a private copy root may open


def _pcap(path: Path) -> None:
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    wrpcap(str(path), [Ether(dst="02:00:00:00:00:01") / (b"root secret" * 4)])


def test_a_pcap_spec_is_read_as_the_learner(learner: LoginUser, root_only: Path) -> None:
    from xdp_tui.engine.packetspec import frame_from_spec

    secret = root_only.with_name("secret.pcap")
    _pcap(secret)
    secret.chmod(0o600)
    with pytest.raises(XdpTuiError, match="Permission denied") as refused:
        frame_from_spec(f"pcap:{secret}")
    assert "root secret" not in refused.value.render()

    own = learner.home / "own.pcap"
    _pcap(own)
    os.chown(own, learner.uid, learner.gid)
    assert b"root secret" in frame_from_spec(f"pcap:{own}")


def test_pcapng_named_by_the_learner_is_written_as_them(
    learner: LoginUser, root_only: Path
) -> None:
    from xdp_tui.engine.capture import PcapngWriter
    from xdp_tui.engine.samples import write_pcapng

    with pytest.raises(XdpTuiError, match="Permission denied"):
        PcapngWriter(root_only, learner_file=True)
    assert root_only.read_text() == "root secret\n"

    target = learner.home / "samples.pcapng"
    assert write_pcapng([], target, learner_file=True) == 0
    info = target.stat()
    assert stat.S_ISREG(info.st_mode) and info.st_uid == learner.uid


def test_a_twin_capture_of_a_learners_program_builds(learner: LoginUser, make_lab) -> None:
    """The twin's generated source lies in root's run folder, which the learner cannot
    enter: xdp-tui reads it itself (the learner's source it includes is read as them)."""
    from xdp_tui.engine import session
    from xdp_tui.engine.capture import Capture

    source = learner.home / "elsewhere" / "p01.c"
    learner.run("mkdir", "-p", str(source.parent))
    solution = lessons.get_lesson("packet01-parsing").dir / "solution" / "xdp_prog_kern.c"
    learner.run("cp", str(solution), str(source))
    lab = make_lab("twl")
    with (
        session.load_program(source, lab.name, mode="native", pin_maps=False) as loaded,
        Capture.start(lab.name, method="twin") as cap,
    ):
        assert cap.method == "twin" and loaded.prog_id


def test_the_tui_attaches_a_learners_lesson(learner: LoginUser, make_lab) -> None:
    """The TUI's builds go to root's own folder: loading them is not reading a learner's path."""
    from xdp_tui.workbench import Workbench

    lesson = lessons.get_lesson(LESSON)
    lessons.reset_workspace(lesson)
    lab = make_lab("tua")
    bench = Workbench(lab=lab.name)
    try:
        attached = bench.build_and_attach(lesson, None)
        assert paths.in_run_dir(attached.obj) and attached.prog_id
    finally:
        bench.close()
