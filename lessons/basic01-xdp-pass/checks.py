"""Checks for basic01-xdp-pass."""

from __future__ import annotations

from xdp_tui.checks import CheckContext, CheckResult


def check_loads_and_passes(ctx: CheckContext) -> CheckResult:
    loaded = ctx.load("xdp_prog_simple")
    reply = ctx.ping(count=3)
    ctx.expect(
        reply.received == reply.sent,
        f"with xdp_prog_simple attached only {reply.received} of {reply.sent} pings were"
        " answered; a program that passes everything must not lose any",
    )
    return ctx.passed(
        f"xdp_prog_simple (id {loaded.prog_id}) attached in {loaded.mode} mode;"
        f" {reply.received}/{reply.sent} pings answered"
    )
