"""Root acting for a learner neither writes nor reads through the learner's links.

Each test plants, as a real unprivileged user, one of the links from issue
#13 in that user's data folder, then lets xdp-tui (root, as under sudo) do its
usual work there.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.learner import LoginUser
from tests.security.conftest import data_dir
from xdp_tui import lessons, paths, userfiles
from xdp_tui.errors import XdpTuiError

LESSON = "basic01-xdp-pass"


def _workspace(user: LoginUser) -> Path:
    folder = data_dir() / "workspace" / LESSON
    user.run("mkdir", "-p", str(folder))
    return folder


def test_dangling_link_at_a_workspace_file_creates_nothing(
    learner: LoginUser, open_folder: Path
) -> None:
    target = open_folder / "created-by-root"
    folder = _workspace(learner)
    learner.run("ln", "-s", str(target), str(folder / "xdp_prog_kern.c"))
    lesson = lessons.get_lesson(LESSON)
    lessons.workspace_source(lesson)  # the link stands for the file: nothing is copied
    lessons.reset_workspace(lesson)  # removed as the learner, copied afresh
    assert not target.exists()
    source = folder / "xdp_prog_kern.c"
    assert not source.is_symlink() and source.stat().st_uid == learner.uid


def test_linked_workspace_folder_gets_nothing_written_or_chowned(
    learner: LoginUser, open_folder: Path
) -> None:
    parent = data_dir() / "workspace"
    learner.run("mkdir", "-p", str(parent))
    learner.run("ln", "-s", str(open_folder), str(parent / LESSON))
    with pytest.raises(XdpTuiError):
        lessons.workspace_source(lessons.get_lesson(LESSON))
    assert list(open_folder.iterdir()) == []
    assert open_folder.stat().st_uid == 0


def test_linked_data_folder_gets_nothing_written(learner: LoginUser, open_folder: Path) -> None:
    link = learner.home / "data-link"
    learner.run("ln", "-s", str(open_folder), str(link))
    os.environ["XDP_TUI_DATA_DIR"] = str(link)
    with pytest.raises(XdpTuiError):
        lessons.Progress.load().mark(LESSON, "1", True, "ok")
    with pytest.raises(XdpTuiError):
        lessons.workspace_source(lessons.get_lesson(LESSON))
    assert list(open_folder.iterdir()) == [] and open_folder.stat().st_uid == 0


def test_workspace_source_linked_to_a_root_only_file_is_not_read(
    learner: LoginUser, root_only: Path
) -> None:
    folder = _workspace(learner)
    learner.run("ln", "-s", str(root_only), str(folder / "xdp_prog_kern.c"))
    source = lessons.workspace_source(lessons.get_lesson(LESSON))
    with pytest.raises(XdpTuiError) as refused:
        userfiles.read_text(source)  # what the Source tab and the editor read
    assert "root secret" not in refused.value.render()
    from xdp_tui.engine.build import build

    with pytest.raises(XdpTuiError) as not_built:
        build(source, paths.learner_build_dir(LESSON) / "x.o", warm_next=False)
    assert "root secret" not in not_built.value.render()


def test_hard_to_spot_cases_are_refused_by_ownership_and_type(learner: LoginUser) -> None:
    folder = _workspace(learner)
    learner.run("mkfifo", str(folder / "fifo.c"))
    with pytest.raises(XdpTuiError, match="not a regular file"):
        userfiles.read_text(folder / "fifo.c")  # no hang on a FIFO
    theirs = folder / "root-made.c"
    theirs.write_text("int x;\n")  # made by root, not by the learner
    os.chmod(folder, 0o777)
    with pytest.raises(XdpTuiError, match="belongs to uid 0"):
        userfiles.read_text(theirs)


def test_progress_linked_to_a_root_only_file_is_not_copied(
    learner: LoginUser, root_only: Path
) -> None:
    learner.run("mkdir", "-p", str(data_dir()))
    learner.run("ln", "-s", str(root_only), str(data_dir() / "progress.json"))
    progress = lessons.Progress.load()
    assert progress.problem and progress.passed(LESSON) == set()
    progress.mark(LESSON, "1", True, "ok")
    saved = data_dir() / "progress.json"
    assert not saved.is_symlink() and saved.stat().st_uid == learner.uid
    assert "root secret" not in saved.read_text()
    aside = data_dir() / "progress.json.invalid"
    assert aside.is_symlink()  # kept, as it was
    assert root_only.read_text() == "root secret\n"
    assert stat.S_IMODE(root_only.stat().st_mode) == 0o600


def test_build_outputs_and_log_live_in_root_only_folders(learner: LoginUser) -> None:
    for folder in (paths.learner_build_dir(LESSON).parent.parent, paths.log_file().parent):
        info = folder.lstat()
        assert stat.S_ISDIR(info.st_mode) and info.st_uid == 0
        assert stat.S_IMODE(info.st_mode) == 0o700
        assert learner.home not in folder.parents


def test_log_link_is_not_followed(learner: LoginUser, open_folder: Path, tmp_path: Path) -> None:
    """stderr.log is opened no-follow wherever it is: a planted link is refused."""
    from xdp_tui.stderr import divert_fd2_to_log

    target = open_folder / "appended-by-root"
    log = tmp_path / "stderr.log"
    log.symlink_to(target)
    saved = os.dup(2)
    try:
        with pytest.raises(OSError):
            divert_fd2_to_log(log)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    assert not target.exists()


def test_editor_runs_as_the_learner(learner: LoginUser) -> None:
    argv = userfiles.learner_command(["id", "-u"])
    import subprocess

    assert subprocess.run(argv, capture_output=True, text=True).stdout.strip() == str(learner.uid)


def test_clang_reads_includes_as_the_learner(learner: LoginUser, root_only: Path) -> None:
    """`#include "<root-only file>"` would print that file in clang's errors if clang ran as root."""
    from xdp_tui.engine.build import build

    lesson = lessons.get_lesson(LESSON)
    source = lessons.reset_workspace(lesson)
    good = build(source, paths.learner_build_dir(LESSON) / "good.o", warm_next=False)
    assert good.ok, good.raw  # an ordinary build works as the learner
    assert good.obj.stat().st_uid == 0  # and its object is root's, in root's folder
    learner.run("sh", "-c", f"printf '#include \"{root_only}\"\\n' > {source}")
    refused = build(source, paths.learner_build_dir(LESSON) / "bad.o", warm_next=False)
    assert not refused.ok
    assert "Permission denied" in refused.raw and "root secret" not in refused.raw


def test_line_info_naming_a_root_only_file_shows_nothing_of_it(
    learner: LoginUser, root_only: Path
) -> None:
    """`#line 1 "<root-only file>"` makes the object name that file; the Object view must not read it."""
    from xdp_tui.engine.build import build_or_raise
    from xdp_tui.engine.objinfo import describe_object

    root_only.write_text("root secret\n" * 200)  # every line the object names holds the secret
    lesson = lessons.get_lesson(LESSON)
    source = lessons.reset_workspace(lesson)
    text = userfiles.read_text(source)
    userfiles.write_text(source, f'#line 1 "{root_only}"\n' + text)
    result = build_or_raise(source, paths.learner_build_dir(LESSON) / "line.o", warm_next=False)
    info = describe_object(result.obj)
    shown = "\n".join(row.text for rows in info.code.values() for row in rows)
    assert f"{root_only.name}:" in shown  # the object does name the file
    assert "root secret" not in shown


def test_solution_diff_does_not_read_through_a_link(learner: LoginUser, root_only: Path) -> None:
    from xdp_tui import journey

    folder = _workspace(learner)
    learner.run("ln", "-s", str(root_only), str(folder / "xdp_prog_kern.c"))
    with pytest.raises(XdpTuiError) as refused:
        journey.solution_diff(lessons.get_lesson(LESSON))
    assert "root secret" not in refused.value.render()


def test_nothing_is_written_for_the_learner_outside_their_data_folder(learner: LoginUser) -> None:
    outside = learner.home / "not-data" / "file.c"  # the learner could write here, we do not
    with pytest.raises(XdpTuiError, match="outside the learner's data folder"):
        userfiles.write_text(outside, "x")
    assert not outside.parent.exists()


def test_a_file_below_a_home_is_read_through_no_link_on_the_way(
    learner: LoginUser, root_only: Path
) -> None:
    """The instructor's read of a learner's workspace (`below=` the home): as the home's
    owner, and no link followed at any step, even one to a folder the learner may read."""
    home = learner.home
    learner.run("mkdir", "-p", str(home / "real" / "ws"))
    learner.run("sh", "-c", f"echo mine > {home / 'real' / 'ws' / 'x.c'}")
    learner.run("ln", "-s", str(home / "real" / "ws"), str(home / "ws"))
    learner.run("ln", "-s", str(root_only.parent), str(home / "secrets"))
    alias = home.parent / "alias"  # a home that is itself a link (in a folder root made)
    alias.symlink_to(home)
    owner = userfiles.owner_of(home)
    assert owner.uid == learner.uid

    assert userfiles.read_text(home / "real" / "ws" / "x.c", owner=owner, below=home) == "mine\n"
    refused = [
        (home / "ws" / "x.c", home),
        (home / "secrets" / root_only.name, home),
        (alias / "real" / "ws" / "x.c", alias),
    ]
    for path, below in refused:
        with pytest.raises(XdpTuiError, match="symbolic link") as caught:
            userfiles.read_text(path, owner=owner, below=below)
        assert "root secret" not in caught.value.render() and "mine" not in caught.value.render()
