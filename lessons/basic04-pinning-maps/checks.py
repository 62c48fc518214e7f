"""Checks for basic04-pinning-maps.

Judged by what a reader of the pin can observe: the map id behind
/sys/fs/bpf/<iface>/xdp_stats_map, the program id on the interface, and
counters that keep growing (never reset, never go backwards) across reloads.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from pathlib import Path

from xdp_tui.checks import CheckContext, CheckResult, read_stats

STATS = "xdp_stats_map"


def check_survives_reload(ctx: CheckContext) -> CheckResult:
    first = ctx.load("xdp_pass_func")
    pin = ctx.pin_path(STATS)
    first_map = _pinned_map_id(ctx, pin)
    ctx.ping(count=3)
    before = _pinned_stats(pin)

    second = ctx.load("xdp_drop_func")  # a reload: new program, same pin
    ctx.expect(second.prog_id != first.prog_id, "the reload kept the same program id")
    second_map = _pinned_map_id(ctx, pin)
    ctx.expect(
        second_map == first_map,
        f"the map behind {pin} changed from id {first_map} to {second_map} on reload",
    )
    after_reload = _pinned_stats(pin)
    _expect_no_reset(ctx, before, after_reload)

    sent = ctx.ping(count=3).sent
    final = _pinned_stats(pin)
    dropped = final["XDP_DROP"]["packets"] - after_reload["XDP_DROP"]["packets"]
    ctx.expect(
        dropped >= sent,
        f"after the reload xdp_drop_func dropped {sent} pings but XDP_DROP grew by {dropped};"
        " it must record its verdict in the shared map",
    )

    third = ctx.load("xdp_abort_func")
    sent = ctx.ping(count=2).sent
    last = _pinned_stats(pin)
    aborted = last["XDP_ABORTED"]["packets"] - final["XDP_ABORTED"]["packets"]
    ctx.expect(
        aborted >= sent,
        f"xdp_abort_func (id {third.prog_id}) aborted {sent} pings but XDP_ABORTED grew by"
        f" {aborted}; it must record its verdict too",
    )
    _expect_no_reset(ctx, final, last)
    return ctx.passed(
        f"programs {first.prog_id} -> {second.prog_id} -> {third.prog_id} shared map id"
        f" {first_map}; PASS kept {last['XDP_PASS']['packets']}, DROP +{dropped},"
        f" ABORTED +{aborted}"
    )


def check_reuses_pin(ctx: CheckContext) -> CheckResult:
    loader = shutil.which("xdp-loader")
    if loader is None:
        ctx.fail("this check needs xdp-loader (package xdp-tools)")
    ctx.load("xdp_pass_func")  # xdp-tui pins every map of what it loads
    pin = ctx.pin_path(STATS)
    pinned_id = _pinned_map_id(ctx, pin)
    ctx.ping(count=3)
    before = _pinned_stats(pin)
    ctx.unload()

    # Another loader, told only where pins live: it reuses what asks to be pinned.
    dev = ctx.lab().outer
    ctx.defer(_xdp_loader_unload, loader, dev)
    done = subprocess.run(
        [loader, "load", "--pin-path", str(pin.parent), "-m", "native"]
        + ["-n", "xdp_pass_func", dev, str(ctx.obj)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    ctx.expect(
        done.returncode == 0,
        f"xdp-loader could not load the program: {(done.stderr or done.stdout).strip()[-300:]}",
    )
    prog_id = _attached_prog_id(dev)
    ctx.expect(prog_id is not None, f"xdp-loader reported success but {dev} has no XDP program")
    from xdp_tui.engine import bpfsys

    uses = bpfsys.prog_info_by_id(prog_id).map_ids
    ctx.expect(
        pinned_id in uses,
        f"xdp-loader gave program {prog_id} a fresh map (ids {uses}) instead of the pinned"
        f" one (id {pinned_id}): the counters would start again from zero",
    )
    sent = ctx.ping(count=3).sent
    after = _pinned_stats(pin)
    grown = after["XDP_PASS"]["packets"] - before["XDP_PASS"]["packets"]
    ctx.expect(
        grown >= sent,
        f"XDP_PASS behind the pin grew by {grown} for {sent} pings after the reload",
    )
    return ctx.passed(
        f"xdp-loader reused pinned map id {pinned_id}; XDP_PASS went"
        f" {before['XDP_PASS']['packets']} -> {after['XDP_PASS']['packets']}"
    )


# ---- helpers ----------------------------------------------------------------


def _pinned_map_id(ctx: CheckContext, pin: Path) -> int:
    from xdp_tui.engine import bpfsys

    if not pin.exists():
        ctx.fail(f"{pin} does not exist after loading")
    with bpfsys.obj_get(pin) as fd:
        return bpfsys.map_info(fd).id


def _pinned_stats(pin: Path) -> dict[str, dict[str, int]]:
    from xdp_tui.engine import bpfsys

    with bpfsys.obj_get(pin) as fd:
        return read_stats(fd)


def _expect_no_reset(
    ctx: CheckContext, before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> None:
    for action, counts in before.items():
        now = after.get(action, {}).get("packets", 0)
        ctx.expect(
            now >= counts["packets"],
            f"{action} went from {counts['packets']} down to {now} across the reload",
        )


def _attached_prog_id(dev: str) -> int | None:
    out = subprocess.run(
        ["ip", "-j", "-d", "link", "show", "dev", dev], capture_output=True, text=True
    ).stdout
    with contextlib.suppress(ValueError, IndexError, KeyError, TypeError):
        return int(json.loads(out)[0]["xdp"]["prog"]["id"])
    return None


def _xdp_loader_unload(loader: str, dev: str) -> None:
    subprocess.run([loader, "unload", dev, "--all"], capture_output=True, timeout=60)
