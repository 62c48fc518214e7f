"""Leftovers are only this user's killed sessions'; the printk pane only this program's lines."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from xdp_tui import lessons, paths, tui_sessions
from xdp_tui.engine import build
from xdp_tui.engine.monitor import PrintkFilter
from xdp_tui.workbench import Workbench


def _dead_pid() -> int:
    return int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True).stdout)


def _record(pid: int, uid: int, dev: str) -> None:
    record = {"pid": pid, "uid": uid, "started": 0.0, "devs": [dev]}
    (paths.private_dir("sessions") / f"{pid}.json").write_text(json.dumps(record))


def _load_with_pins(dev: str, *, persistent: bool) -> None:
    from xdp_tui.engine import session

    source = lessons.solution_source(lessons.get_lesson("basic03-map-counter"))
    loaded = session.load_program(source, dev, program="xdp_stats1_func", persistent=persistent)
    loaded.close()


@pytest.mark.kernel
def test_other_users_and_persistent_loads_are_never_leftovers(make_lab: Any) -> None:
    from xdp_tui.engine import attach, session

    other_users, persistent, mine = make_lab("lo1"), make_lab("lo2"), make_lab("lo3")
    _load_with_pins(other_users.outer, persistent=False)
    _load_with_pins(persistent.outer, persistent=True)
    _load_with_pins(mine.outer, persistent=False)
    pids = [_dead_pid() for _ in range(3)]
    _record(pids[0], tui_sessions.learner_uid() + 4242, other_users.outer)
    _record(pids[1], tui_sessions.learner_uid(), persistent.outer)
    _record(pids[2], tui_sessions.learner_uid(), mine.outer)
    try:
        found = Workbench(lab=mine.name).leftovers()
        assert {item.dev for item in found} == {mine.outer}
        assert all(item.session_pid == pids[2] for item in found)
        assert attach.query(persistent.outer).prog_id  # untouched
        assert tui_sessions.read(pids[0]) is not None  # the other user's record stays theirs
        assert tui_sessions.read(pids[1]) is None  # nothing of that session: forgotten
    finally:
        session.unload(persistent.outer)
        for pid in pids:
            tui_sessions.forget(pid)


def test_printk_filter_keeps_only_this_objects_formats(tmp_path: Path) -> None:
    source = tmp_path / "printk.c"
    source.write_text(
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
        'SEC("xdp") int p(struct xdp_md *ctx) {\n'
        '    bpf_printk("len=%d proto=0x%x", ctx->data_end - ctx->data, 7);\n'
        '    bpf_printk("100%% done %s", "x");\n'
        "    return XDP_PASS;\n}\n"
        'char _license[] SEC("license") = "GPL";\n'
    )
    result = build.build_or_raise(source, warm_next=False)
    only_ours = PrintkFilter.from_object(result.obj)
    assert only_ours.matches("len=98 proto=0x7")
    assert only_ours.matches("100% done x\n")
    assert not only_ours.matches("len=98 proto=0x7 and more")
    assert not only_ours.matches("another session's hello")
