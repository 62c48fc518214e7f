"""Checks for basic02-prog-by-name."""

from __future__ import annotations

from xdp_tui.checks import CheckContext, CheckResult

XDP_ABORTED = 0


def check_drop_by_name(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_drop_func")
    dropped = ctx.ping(count=3)
    ctx.expect(
        dropped.received == 0,
        f"with xdp_drop_func attached {dropped.received} of {dropped.sent} pings were"
        " still answered; it must return XDP_DROP",
    )
    ctx.load("xdp_pass_func")
    back = ctx.ping(count=3)
    ctx.expect(
        back.received == back.sent,
        f"after switching to xdp_pass_func only {back.received} of {back.sent} pings were answered",
    )
    return ctx.passed(
        f"xdp_drop_func: 0/{dropped.sent} answered; xdp_pass_func: {back.received}/{back.sent}"
    )


def check_abort_func(ctx: CheckContext) -> CheckResult:
    from xdp_tui.engine.monitor import ExceptionMonitor

    # The monitor counts xdp:xdp_exception events by (program id, action).
    with ExceptionMonitor() as monitor:
        aborter = ctx.load("xdp_abort_func")
        lost = ctx.ping(count=3)
        ctx.expect(
            lost.received == 0,
            f"with xdp_abort_func attached {lost.received} of {lost.sent} pings were answered;"
            " it must return XDP_ABORTED",
        )
        dropper = ctx.load("xdp_drop_func")
        ctx.ping(count=2)
        counts = monitor.counts()
    aborted = counts.get((aborter.prog_id, XDP_ABORTED), 0)
    ctx.expect(
        aborted >= lost.sent,
        f"xdp:xdp_exception fired {aborted} times with action 0 for xdp_abort_func"
        f" (id {aborter.prog_id}), expected one per lost ping ({lost.sent})",
    )
    from_drop = sum(n for (prog, _act), n in counts.items() if prog == dropper.prog_id)
    ctx.expect(
        from_drop == 0,
        f"xdp_drop_func (id {dropper.prog_id}) fired xdp:xdp_exception {from_drop} times;"
        " XDP_DROP is a normal verdict and should not",
    )
    return ctx.passed(
        f"{lost.sent} pings lost; xdp:xdp_exception fired {aborted} times with action 0;"
        " none for xdp_drop_func"
    )
