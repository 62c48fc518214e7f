"""stats: per-action counters and rates, program replacement, run stats, `stats` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testenv import traffic
from xdp_tui.engine.stats import ACTION_NAMES, RunStats, StatsSampler, read_iface_counters

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sampler(lab: object) -> Iterator[StatsSampler]:
    with StatsSampler(lab.name, run_stats=True) as s:  # type: ignore[attr-defined]
        yield s


@pytest.mark.kernel
def test_counters_equal_frames_sent(
    lab: object, load_on_lab: Callable[..., object], sampler: StatsSampler
) -> None:
    load_on_lab(lab, "xdp_pass_count")
    first = sampler.sample()
    iface_before = first["interface"]["rx_packets"]
    sent = traffic.udp_stream(lab, count=5000, size=90).sent
    second = sampler.sample()
    passed = second["actions"]["XDP_PASS"]
    delta = passed["packets"] - first["actions"]["XDP_PASS"]["packets"]
    # A quiet lab: everything the interface received went through the program.
    # The kernel may add a stray IPv6 control frame (router/multicast); the map
    # and the interface counter must then agree on it too.
    iface_delta = second["interface"]["rx_packets"] - iface_before
    assert sent <= delta <= sent + 3
    assert delta == iface_delta
    if delta == sent:
        assert passed["bytes"] - first["actions"]["XDP_PASS"]["bytes"] == sent * 90
    assert passed["pps"] > 0 and passed["bps"] > 0
    assert all(second["actions"][a]["packets"] == 0 for a in ("XDP_DROP", "XDP_ABORTED"))


@pytest.mark.kernel
def test_drop_counted_under_drop(
    lab: object, load_on_lab: Callable[..., object], sampler: StatsSampler
) -> None:
    load_on_lab(lab, "xdp_drop_count")
    sampler.sample()
    traffic.udp_stream(lab, count=1000)
    actions = sampler.sample()["actions"]
    assert actions["XDP_DROP"]["packets"] >= 1000
    assert actions["XDP_PASS"]["packets"] == 0


@pytest.mark.kernel
def test_json_shape(lab: object, load_on_lab: Callable[..., object], sampler: StatsSampler) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    sampler.sample()
    traffic.udp_stream(lab, count=10)
    sample = json.loads(json.dumps(sampler.sample()))  # must survive JSON as is
    assert {"time", "dev", "prog_id", "maps", "actions"} <= set(sample)
    assert sample["dev"] == lab.name and sample["prog_id"] == lp.prog_id  # type: ignore[attr-defined]
    assert set(sample["maps"]) == {"xdp_stats_map", "flows", "by_mac", "config_map"}
    for m in sample["maps"].values():
        assert isinstance(m["type"], str)
        assert all({"key", "value"} <= set(e) for e in m["entries"])
    assert list(sample["actions"]) == list(ACTION_NAMES)
    for a in sample["actions"].values():
        assert set(a) == {"packets", "bytes", "pps", "bps"}
    assert sample["run"]["run_cnt"] >= 10


@pytest.mark.kernel
def test_replaced_program_rebaselines(
    lab: object, load_on_lab: Callable[..., object], sampler: StatsSampler
) -> None:
    old = load_on_lab(lab, "xdp_pass_count")
    traffic.udp_stream(lab, count=3000)
    sampler.sample()
    sampler.sample()
    old.close()  # a fresh program: fresh maps whose counters start at zero
    new = load_on_lab(lab, "xdp_pass_count")
    first_new = sampler.sample()
    assert first_new["prog_id"] == new.prog_id != old.prog_id
    assert all(a["pps"] >= 0 and a["bps"] >= 0 for a in first_new["actions"].values())
    traffic.udp_stream(lab, count=200)
    later = sampler.sample()
    assert later["actions"]["XDP_PASS"]["packets"] >= 200
    assert all(a["pps"] >= 0 for a in later["actions"].values())
    assert all(v >= 0 for v in sampler.history["XDP_PASS"])


@pytest.mark.kernel
def test_no_program_attached(lab: object, sampler: StatsSampler) -> None:
    sample = sampler.sample()
    assert sample["prog_id"] is None and sample["maps"] == {} and "actions" not in sample


@pytest.mark.kernel
def test_history_is_bounded(lab: object, load_on_lab: Callable[..., object]) -> None:
    load_on_lab(lab, "xdp_pass_count")
    with StatsSampler(lab.name, history_len=5) as s:  # type: ignore[attr-defined]
        for _ in range(9):
            s.sample()
        assert len(s.history["XDP_PASS"]) == 5


@pytest.mark.kernel
def test_run_stats_count_grows(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    with RunStats() as run:
        cnt0, _ = run.read(lp.prog_id)
        run.rates(lp.prog_id)
        traffic.udp_stream(lab, count=500)
        cnt1, time1 = run.read(lp.prog_id)
        rates = run.rates(lp.prog_id)
    assert cnt1 - cnt0 >= 500 and time1 > 0
    assert rates["ns_per_run"] > 0 and rates["runs_per_s"] > 0
    assert not run.active


@pytest.mark.kernel
def test_iface_counters(lab: object) -> None:
    counters = read_iface_counters(lab.name)  # type: ignore[attr-defined]
    assert counters is not None and set(counters) == {
        "rx_packets",
        "rx_bytes",
        "tx_packets",
        "tx_bytes",
    }
    assert read_iface_counters("no-such-dev0") is None


# ---- CLI -----------------------------------------------------------------------


def _cli(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run the CLI with the observe commands registered (the lead adds them to the list)."""
    code = (
        "import sys; from xdp_tui import cli\n"
        "if 'observe' not in cli.COMMAND_MODULES: cli.COMMAND_MODULES += ('observe',)\n"
        "sys.exit(cli.main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ},
        timeout=60,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.kernel
def test_cli_stats_json(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    traffic.udp_stream(lab, count=10)
    out = _cli(["stats", "--dev", lab.name, "--json", "--count", "2", "--interval", "0.1"])  # type: ignore[attr-defined]
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2
    sample = json.loads(lines[-1])
    assert sample["prog_id"] == lp.prog_id
    assert sample["actions"]["XDP_PASS"]["packets"] >= 10
    assert out.stderr == ""


@pytest.mark.kernel
def test_cli_stats_text(lab: object, load_on_lab: Callable[..., object]) -> None:
    load_on_lab(lab, "xdp_pass_count")
    out = _cli(["stats", "--dev", lab.name, "--count", "1", "--interval", "0.1"])  # type: ignore[attr-defined]
    assert out.returncode == 0, out.stderr
    assert "XDP_PASS" in out.stdout and "flows" in out.stdout and "struct flow_key" in out.stdout


@pytest.mark.kernel
def test_cli_stats_prints_map_text_as_written(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    """rich read values as markup: `12:ab:34` printed an emoji, `[/b]` vanished."""
    import struct

    from xdp_tui.engine import bpfsys

    lp = load_on_lab(lab, "xdp_rich", source="btf_types")
    value = bytearray(72)
    value[1:7] = bytes.fromhex("12ab34cdef56")  # mac
    value[56:60] = b"[/b]"  # name: printable, shown as text
    bpfsys.update(lp.maps["rich"], struct.pack("I", 0), bytes(value))  # type: ignore[attr-defined]
    out = _cli(["stats", "--dev", lab.name, "--count", "1", "--interval", "0.1"])  # type: ignore[attr-defined]
    assert out.returncode == 0, out.stderr
    assert "12:ab:34:cd:ef:56" in out.stdout and "[/b]" in out.stdout, out.stdout


@pytest.mark.kernel
def test_cli_stats_unknown_dev() -> None:
    out = _cli(["stats", "--dev", "nosuchdev0", "--count", "1"])
    assert out.returncode == 1
    assert "no interface named 'nosuchdev0'" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.kernel
@pytest.mark.parametrize(
    "flags",
    [[], ["--json"], ["--all"], ["--all", "--json"], ["--top", "3"], ["--top", "3", "--json"],
     ["--top", "3", "--map", "nosuch"]],
)  # fmt: skip
def test_cli_stats_with_nothing_attached_says_so(lab: object, flags: list[str]) -> None:
    """Nothing on the lab: every form of stats says what is wrong and what to do, exit 1
    (not a silent exit 0, nor a `null` program a script would take for an idle one)."""
    out = _cli(["stats", "--dev", lab.name, "--count", "1", "--interval", "0.1", *flags])  # type: ignore[attr-defined]
    assert out.returncode == 1, out
    assert out.stdout == ""
    assert f"dev {lab.name}: no XDP program is attached" in out.stderr  # type: ignore[attr-defined]
    assert f"xdp-tui load FILE.c --dev {lab.name}" in out.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in out.stderr


@pytest.mark.kernel
def test_cli_stats_all_of_a_program_without_maps_says_so(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    load_on_lab(lab, "xdp_pass_all", source="xdp_pass")
    every = _cli(["stats", "--dev", lab.name, "--all", "--count", "1", "--interval", "0.1"])  # type: ignore[attr-defined]
    assert every.returncode == 1 and "xdp_pass_all" in every.stderr, every
    assert "has no map" in every.stderr and "Traceback" not in every.stderr
    named = _cli(["stats", "--dev", lab.name, "--top", "3", "--map", "nosuch", "--count", "1"])  # type: ignore[attr-defined]
    assert named.returncode == 1 and "--map nosuch" in named.stderr, named


@pytest.mark.kernel
def test_cli_stats_needs_root() -> None:
    out = _cli(["stats", "--count", "1"], user=65534, group=65534, extra_groups=[])
    assert out.returncode == 2
    assert "needs root" in out.stderr


@pytest.mark.kernel
def test_rates_per_key_for_counter_maps(
    lab: object, load_on_lab: Callable[..., object], sampler: StatsSampler
) -> None:
    load_on_lab(lab, "xdp_pass_count")
    traffic.udp_stream(lab, count=10)
    sampler.sample()
    traffic.udp_stream(lab, count=500)
    maps = sampler.sample()["maps"]
    by_mac = {r["key"]: r for r in maps["by_mac"]["rates"]}
    mine = by_mac[lab.inner_mac.lower()]  # type: ignore[attr-defined]
    assert mine["pps"] > 0 and mine["bps"] > 0
    assert maps["flows"]["rates"] and all(r["pps"] >= 0 for r in maps["flows"]["rates"])
    assert "rates" not in maps["config_map"]  # not counters
    assert "rates" not in maps["xdp_stats_map"]  # shown as "actions" instead


def test_a_long_map_name_is_cut_above_its_table_not_wrapped_into_it() -> None:
    """The `stats` map table's head is one line above the table, the name cut with '…':
    a long name no longer breaks the title of a narrow table mid-word."""
    from rich.console import Console

    from xdp_tui.cli.observe import MAP_NAME_SHOWN, _map_table

    name = "a_really_long_map_name_for_counting_every_flow_on_the_lab_interface_x"
    entries = [{"key": 1, "value": {"rx_packets": 5, "rx_bytes": 300}}]
    m = {"type": "hash", "key_type": "__u32", "value_type": "struct datarec", "entries": entries}
    console = Console(width=80, record=True)
    console.print(_map_table(name, m))
    lines = console.export_text().splitlines()
    assert lines[0].startswith(name[: MAP_NAME_SHOWN - 1] + "…  (hash, __u32 -> struct datarec)")
    assert lines[1].startswith("┏")  # the table right after its one head line
