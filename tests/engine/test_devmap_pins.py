"""A pinned devmap is reused on reload (the kernel flags it; libbpf 1.1 alone refuses)."""

from __future__ import annotations

import pytest

from xdp_tui.engine import bpfsys
from xdp_tui.engine.session import load_program, unload
from xdp_tui.lessons import get_lesson, solution_source

pytestmark = pytest.mark.kernel


def test_pinned_devmap_reused_across_reloads(make_lab, tmp_path) -> None:
    lab = make_lab("dev")
    source = tmp_path / "prog.c"
    source.write_text(solution_source(get_lesson("packet03-redirecting")).read_text())
    try:
        with load_program(source, lab.outer, program="xdp_redirect_map_func", mode="skb"):
            pass
        pin = f"/sys/fs/bpf/{lab.outer}/tx_port"
        with bpfsys.obj_get(pin) as fd:
            first_id = bpfsys.map_info(int(fd)).id
        with load_program(source, lab.outer, program="xdp_redirect_map_func", mode="skb") as again:
            assert any(p.name == "tx_port" for p in again.obj.reused_pins)
        with bpfsys.obj_get(pin) as fd:
            assert bpfsys.map_info(int(fd)).id == first_id
    finally:
        unload(lab.outer)
