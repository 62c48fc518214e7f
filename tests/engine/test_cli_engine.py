"""The build/load/unload/status commands: JSON shapes, exit codes, located errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from xdp_tui import paths
from xdp_tui.cli import main
from xdp_tui.engine import attach as attach_mod


def _run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


def _json(out: str) -> Any:
    return json.loads(out.strip().splitlines()[-1])


def test_build_json_and_cache(
    capfd: pytest.CaptureFixture[str], prog: Callable[[str], Path]
) -> None:
    source = prog("xdp_pass")
    code, out, _ = _run(capfd, "build", str(source), "--json")
    assert code == 0
    first = _json(out)
    assert first["ok"] and not first["cached"] and first["obj"] == str(source.with_suffix(".o"))
    code, out, _ = _run(capfd, "build", str(source))
    assert code == 0 and "not rebuilt" in out


def test_build_says_its_warnings_even_when_not_rebuilt(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "warns.c"
    source.write_text(
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
        'SEC("xdp") int xdp_w(struct xdp_md *ctx)\n{\n\tint unused;\n\treturn XDP_PASS;\n}\n'
    )
    for _ in range(2):
        code, out, _ = _run(capfd, "build", str(source))
        assert code == 0 and f"{source}:5:6: warning: unused variable 'unused'" in out


def test_build_error_exits_1_with_a_located_message(
    capfd: pytest.CaptureFixture[str], prog: Callable[[str], Path]
) -> None:
    source = prog("build_error")
    code, _, err = _run(capfd, "build", str(source))
    assert code == 1
    assert f"xdp-tui: error: {source}:8:9: error: use of undeclared identifier" in err
    assert "Traceback" not in err
    code, out, _ = _run(capfd, "build", str(source), "--json")
    assert code == 1 and _json(out)["location"] == f"{source}:8:9"


@pytest.mark.kernel
def test_load_status_unload_round_trip(
    capfd: pytest.CaptureFixture[str], lab: Any, prog: Callable[[str], Path]
) -> None:
    source = prog("counter")
    code, out, _ = _run(
        capfd, "load", str(source), "--dev", lab.outer, "--prog", "xdp_count_drop", "--json"
    )
    assert code == 0
    loaded = _json(out)
    assert loaded["ok"] and loaded["prog_name"] == "xdp_count_drop" and loaded["persistent"]
    assert loaded["maps"] == ["xdp_stats_map"]

    code, out, _ = _run(capfd, "status", "--dev", lab.outer, "--json")
    assert code == 0
    assert _json(out) == {
        "dev": lab.outer,
        "prog_id": loaded["prog_id"],
        "prog_name": "xdp_count_drop",
        "mode": loaded["mode"],
        "ours": True,
    }
    code, out, _ = _run(capfd, "status", "--json")
    assert code == 0 and any(s["dev"] == lab.outer for s in _json(out))

    code, out, _ = _run(capfd, "unload", "--dev", lab.outer, "--json")
    assert code == 0 and _json(out)["detached"]
    assert attach_mod.query(lab.outer).prog_id is None
    assert not paths.pin_dir(lab.outer).exists()
    code, out, _ = _run(capfd, "status", "--dev", lab.outer, "--json")
    assert _json(out) == {
        "dev": lab.outer,
        "prog_id": None,
        "prog_name": None,
        "mode": "none",
        "ours": False,
    }


@pytest.mark.kernel
def test_load_failures_leave_nothing_behind(
    capfd: pytest.CaptureFixture[str], lab: Any, prog: Callable[[str], Path], tmp_path: Path
) -> None:
    refused = prog("map_null")
    code, _, err = _run(capfd, "load", str(refused), "--dev", lab.outer)
    assert code == 1
    assert err.startswith(f"xdp-tui: error: {refused}:17: the verifier refused")
    assert "libbpf:" not in err  # no C-level noise from libbpf on fd 2
    assert "hint:" in err and "Traceback" not in err
    # --log: the log with its C lines, the explanation on top, the refusal marked.
    code, _, err = _run(capfd, "load", str(refused), "--dev", lab.outer, "--log")
    assert code == 1
    assert err.startswith("the verifier refused the program at instruction")
    assert "why: bpf_map_lookup_elem() can return NULL" in err
    assert "  17 | " in err and "\n>> " in err

    code, _, err = _run(capfd, "load", str(prog("two_progs")), "--dev", lab.outer, "--prog", "nope")
    assert (
        code == 1 and "available: xdp_pass_func (section xdp), xdp_drop_func (section xdp)" in err
    )

    not_utf8 = tmp_path / "not_utf8.c"
    not_utf8.write_bytes(b"int x;\n\xff\n")
    code, _, err = _run(capfd, "load", str(not_utf8), "--dev", lab.outer)
    assert code == 1 and "not valid UTF-8" in err
    assert "--log" not in err and "verifier" not in err  # a compiler error: no verifier log

    with pytest.raises(SystemExit) as refused_mode:  # argparse refuses the choice
        main(["load", str(prog("xdp_pass")), "--dev", lab.outer, "--mode", "fast"])
    assert refused_mode.value.code == 2

    assert attach_mod.query(lab.outer).prog_id is None
    pins = paths.pin_dir(lab.outer)
    assert not pins.exists() or list(pins.iterdir()) == []


@pytest.mark.kernel
def test_load_on_a_non_lab_interface_exits_2(
    capfd: pytest.CaptureFixture[str], foreign_veth: str, prog: Callable[[str], Path]
) -> None:
    code, out, err = _run(capfd, "load", str(prog("xdp_pass")), "--dev", foreign_veth, "--json")
    assert code == 2
    assert "not a lab interface" in _json(out)["error"]
    assert attach_mod.query(foreign_veth).prog_id is None
