"""Checks for basic03-map-counter.

Every count is a difference between two reads around the traffic we send,
so what happened before (or a quiet background packet) cannot fool us.
"""

from __future__ import annotations

import random

from xdp_tui.checks import ACTION_NAMES, CheckContext, CheckResult, read_stats_per_cpu

BPF_MAP_TYPE_PERCPU_ARRAY = 6


def _ping_sizes() -> list[int]:
    """Two different payload sizes, never ping(8)'s 56: a constant byte count cannot pass."""
    sizes = [size for size in range(16, 1200) if size != 56]
    return random.sample(sizes, 2)


def check_bytes(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_stats1_func")
    info = ctx.map_info("xdp_stats_map")
    ctx.expect(
        info.value_size == 16,
        f"xdp_stats_map values are {info.value_size} bytes; with rx_packets and rx_bytes"
        " (two __u64) they are 16",
    )
    before = ctx.stats()
    sent = expected_bytes = 0
    frames = []
    for size in _ping_sizes():
        result = ctx.ping(count=random.randint(2, 4), size=size)
        sent += result.sent
        expected_bytes += result.sent * result.frame_size
        frames.append(f"{result.sent} x {result.frame_size}")
    delta = ctx.stats_delta(before, ctx.stats())["XDP_PASS"]
    ctx.expect(
        delta["packets"] == sent,
        f"XDP_PASS counted {delta['packets']} packets for {sent} pings",
    )
    sent_text = " + ".join(frames)
    ctx.expect(
        delta["bytes"] == expected_bytes,
        f"rx_bytes grew by {delta['bytes']} for pings of {sent_text} bytes"
        f" ({expected_bytes} bytes); count each frame's real length (data_end - data)",
    )
    return ctx.passed(
        f"value 16 bytes; {delta['packets']} packets of different sizes ({sent_text}),"
        f" {delta['bytes']} bytes counted"
    )


def check_all_actions(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_stats1_func")
    info = ctx.map_info("xdp_stats_map")
    ctx.expect(
        info.max_entries == len(ACTION_NAMES),
        f"xdp_stats_map has {info.max_entries} entries; one per verdict makes 5",
    )
    passing = _moved_by_pings(ctx)
    ctx.expect(
        set(passing) == {"XDP_PASS"},
        f"with xdp_stats1_func the slots that grew were {_names(passing)}; only XDP_PASS should",
    )
    ctx.load("xdp_drop_count_func")
    dropping = _moved_by_pings(ctx)
    ctx.expect(
        set(dropping) == {"XDP_DROP"},
        f"with xdp_drop_count_func the slots that grew were {_names(dropping)};"
        " only XDP_DROP should (use the verdict as the key)",
    )
    return ctx.passed(
        f"5 slots; xdp_stats1_func moved only XDP_PASS (+{passing['XDP_PASS']}),"
        f" xdp_drop_count_func only XDP_DROP (+{dropping['XDP_DROP']})"
    )


def check_percpu(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_stats1_func")
    info = ctx.map_info("xdp_stats_map")
    ctx.expect(
        info.type == BPF_MAP_TYPE_PERCPU_ARRAY,
        f"xdp_stats_map is a {info.type_name} map (type {info.type});"
        " it should be BPF_MAP_TYPE_PERCPU_ARRAY",
    )
    before = ctx.stats()
    sent = ctx.ping(count=random.randint(3, 6), size=random.randint(16, 1200)).sent
    after = ctx.stats()
    grown = after["XDP_PASS"]["packets"] - before["XDP_PASS"]["packets"]
    ctx.expect(grown >= sent, f"XDP_PASS grew by {grown} for {sent} pings")
    per_cpu = read_stats_per_cpu(ctx.map_fd("xdp_stats_map"))
    cpu_sum = sum(cpu.get("XDP_PASS", 0) for cpu in per_cpu)
    ctx.expect(
        cpu_sum == after["XDP_PASS"]["packets"],
        f"the per-CPU copies add up to {cpu_sum}, the total reads {after['XDP_PASS']['packets']}",
    )
    busy = sum(1 for cpu in per_cpu if cpu.get("XDP_PASS", 0))
    return ctx.passed(
        f"percpu_array with {len(per_cpu)} copies; XDP_PASS {cpu_sum} = sum of the"
        f" copies ({busy} CPU(s) counted)"
    )


def _moved_by_pings(ctx: CheckContext) -> dict[str, int]:
    """Which verdict slots grew (and by how much) while we sent a few pings."""
    before = ctx.stats()
    ctx.ping(count=random.randint(2, 5))
    delta = ctx.stats_delta(before, ctx.stats())
    return {name: d["packets"] for name, d in delta.items() if d["packets"] > 0}


def _names(moved: dict[str, int]) -> str:
    return ", ".join(f"{k} +{v}" for k, v in moved.items()) or "none"
