"""Beside the standard tools: ip, bpftool and xdp-loader both ways on a real lab (issue 12)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testenv import traffic
from xdp_tui import paths
from xdp_tui.engine import attach as attach_mod
from xdp_tui.engine.build import build_or_raise
from xdp_tui.engine.stats import StatsSampler

pytestmark = pytest.mark.kernel
CORPUS = Path(__file__).resolve().parent / "tutorial"
Cli = Callable[..., tuple[int, str, str]]
LONG_NAME = "xdp_patch_ports_func"  # 20 characters; the kernel keeps 15


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.fixture
def corpus_object(tmp_path: Path) -> Path:
    """The corpus's packet solutions, built (legacy section names, long function names)."""
    target = tmp_path / "tutorial"
    shutil.copytree(CORPUS, target)
    return build_or_raise(target / "packet_solutions/xdp_prog_kern.c").obj


@pytest.fixture
def detach_after(lab: Any) -> Iterator[None]:
    yield
    for mode in ("xdp", "xdpgeneric"):
        _run("ip", "link", "set", "dev", lab.outer, mode, "off")


def test_a_program_ip_attached_is_shown_decoded_and_named_in_full(
    lab: Any, corpus_object: Path, prog: Callable[[str], Path], run_cli: Cli, detach_after: None
) -> None:
    done = _run("ip", "link", "set", "dev", lab.outer, "xdpgeneric", "obj", str(corpus_object),
                "sec", "xdp_patch_ports")  # fmt: skip
    assert done.returncode == 0, done.stderr
    code, out, _ = run_cli("status", "--dev", lab.outer)
    assert f"{lab.outer}: {LONG_NAME} (id " in out and "skb mode, attached by another tool" in out

    # Loading over it explains --force, without sending the user to a refusing unload.
    code, _, err = run_cli("load", str(prog("xdp_pass")), "--dev", lab.outer)
    assert code == 1 and "attached by another tool (not xdp-tui)" in err
    assert "pass --force" in err and "xdp-tui unload" not in err
    assert f"ip link set dev {lab.outer} xdp off" in err

    _run("ip", "link", "set", "dev", lab.outer, "xdpgeneric", "off")
    counter = build_or_raise(prog("counter")).obj
    done = _run("ip", "link", "set", "dev", lab.outer, "xdp", "obj", str(counter), "sec", "xdp")
    assert done.returncode == 0, done.stderr
    with StatsSampler(lab.outer) as sampler:
        sampler.sample()
        traffic.udp_stream(lab, count=7, engine="socket")
        sample = sampler.sample()
    assert sample["prog_name"] == "xdp_count_pass"
    assert sample["actions"]["XDP_PASS"]["packets"] >= 7
    assert "xdp_stats_map" in sample["maps"]


def test_ip_cannot_remove_xdp_tuis_pinned_link_and_status_says_why(
    lab: Any, prog: Callable[[str], Path], run_cli: Cli
) -> None:
    assert run_cli("load", str(prog("xdp_pass")), "--dev", lab.outer)[0] == 0
    link_pin = paths.pin_dir(lab.outer) / attach_mod.LINK_PIN_NAME
    refused = _run("ip", "link", "set", "dev", lab.outer, "xdp", "off")
    assert refused.returncode != 0 and attach_mod.query(lab.outer).ours
    code, out, _ = run_cli("status", "--dev", lab.outer)
    assert f"held by xdp-tui's pinned link {link_pin}" in out
    assert f"`ip link set dev {lab.outer} xdp off`" in out and f"rm {link_pin}" in out
    code, out, _ = run_cli("unload", "--dev", lab.outer)
    assert code == 0 and f"released xdp-tui's pinned link {link_pin}" in out
    assert attach_mod.query(lab.outer).prog_id is None


def test_bpftool_both_ways(
    lab: Any, corpus_object: Path, prog: Callable[[str], Path], run_cli: Cli, tmp_path: Path
) -> None:
    pinned = paths.bpffs_root() / f"{lab.outer}_bt"
    done = _run("bpftool", "prog", "load", str(corpus_object), str(pinned), "type", "xdp")
    assert done.returncode == 0, done.stderr
    try:
        prog_id = json.loads(_run("bpftool", "-j", "prog", "show", "pinned", str(pinned)).stdout)[
            "id"
        ]
        done = _run("bpftool", "net", "attach", "xdp", "id", str(prog_id), "dev", lab.outer)
        assert done.returncode == 0, done.stderr
        status = attach_mod.query(lab.outer)
        assert (status.prog_id, status.prog_name, status.ours) == (prog_id, LONG_NAME, False)
        code, _, err = run_cli("unload", "--dev", lab.outer)
        assert code == 1 and "was not attached by xdp-tui" in err and "--force" in err
        code, out, _ = run_cli("unload", "--dev", lab.outer, "--force")
        assert code == 0 and attach_mod.query(lab.outer).prog_id is None
        assert pinned.exists()  # bpftool's pin is bpftool's
    finally:
        pinned.unlink(missing_ok=True)

    # And the other way: bpftool sees xdp-tui's program and names it in full too.
    code, out, _ = run_cli("load", str(corpus_object), "--dev", lab.outer, "--prog", LONG_NAME,
                           "--json")  # fmt: skip
    assert code == 0
    loaded = json.loads(out)
    shown = json.loads(_run("bpftool", "-j", "prog", "show", "id", str(loaded["prog_id"])).stdout)
    assert shown["name"] == LONG_NAME and shown["type"] == "xdp"
    net = json.loads(_run("bpftool", "-j", "net", "show", "dev", lab.outer).stdout)
    assert any(x.get("id") == loaded["prog_id"] for x in net[0]["xdp"])
    assert run_cli("unload", "--dev", lab.outer)[0] == 0


def test_xdp_loader_both_ways(
    lab: Any, corpus_object: Path, prog: Callable[[str], Path], run_cli: Cli
) -> None:
    done = _run("xdp-loader", "load", "-m", "skb", lab.outer, str(corpus_object), "-p", LONG_NAME)
    assert done.returncode == 0, done.stderr
    try:
        status = attach_mod.query(lab.outer)
        assert status.prog_id and not status.ours
        assert status.prog_name in (LONG_NAME, "xdp_dispatcher")
        code, _, err = run_cli("load", str(prog("xdp_pass")), "--dev", lab.outer)
        assert code == 1 and "pass --force" in err and f"xdp-loader unload {lab.outer}" in err
    finally:
        _run("xdp-loader", "unload", lab.outer, "--all")
    assert attach_mod.query(lab.outer).prog_id is None

    assert run_cli("load", str(prog("xdp_pass")), "--dev", lab.outer)[0] == 0
    shown = _run("xdp-loader", "status", lab.outer)
    assert "xdp_pass_all" in shown.stdout
    refused = _run("xdp-loader", "unload", lab.outer, "--all")
    assert refused.returncode != 0 and attach_mod.query(lab.outer).ours
    assert run_cli("unload", "--dev", lab.outer)[0] == 0
    assert attach_mod.query(lab.outer).prog_id is None
