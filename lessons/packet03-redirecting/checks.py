"""Checks for packet03-redirecting.

Labs: "left", "right" and (for the router) "third", each a veth pair with
its inner end in a namespace. A frame an XDP program redirects or sends
back never shows up on the outer interface's tap; it is seen where it
lands. So the checks judge by: which echo requests got answered, the
XDP_TX / XDP_REDIRECT counters in the stats map, and taps on outer ends.

Programs are attached in native mode; the engine then also puts an
XDP_PASS program on each lab's inner veth0, without which a veth drops
frames sent to it with XDP_TX or a redirect.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from testenv import packets, traffic
from xdp_tui.checks import CheckContext, CheckResult

PINGS = 4
REPLY_WAIT_S = 0.5
PING_INTERVAL_S = 0.05


# ---- helpers --------------------------------------------------------------


def _map_update(ctx: CheckContext, role: str, map_name: str, key: bytes, value: bytes) -> None:
    """Write one entry into ROLE's map through its pin, as a learner's tool would.

    The maps are pinned under /sys/fs/bpf/<outer interface>/; opening the pin
    also proves they are where the README says.
    """
    from xdp_tui.engine import bpfsys

    pin = ctx.pin_path(map_name, role)
    ctx.expect(pin.exists(), f"map {map_name} is not pinned at {pin}")
    with bpfsys.obj_get(pin) as fd:
        bpfsys.update(fd, key, value)


def _ping_address(ctx: CheckContext, role: str, dst: str) -> list[int]:
    """PINGS echo requests from inside ROLE's lab to DST; which were answered, counted 1..PINGS.

    The real sequence numbers and sizes start somewhere new each run, so no
    reply made from constants passes.
    """
    first = random.randint(100, 60000)
    result = traffic.ping(
        ctx.lab(role),
        PINGS,
        interval=PING_INTERVAL_S,
        timeout=REPLY_WAIT_S,
        dst=dst,
        first_seq=first,
        size=random.randint(16, 1000),
    )
    return [seq - first + 1 for seq in result.answered_seqs]


def _counter(ctx: CheckContext, role: str, action: str) -> int:
    return ctx.stats(role)[action]["packets"]


def _mac(text: str) -> bytes:
    return packets.mac_bytes(text)


def _all_seqs() -> list[int]:
    return list(range(1, PINGS + 1))


# ---- assignment 1: XDP_TX -------------------------------------------------


def _is_echo_request(frame: bytes) -> bool:
    echo = packets.parse(frame).echo()
    return bool(echo) and echo[0] in (packets.ICMPV6_ECHO_REQUEST, packets.ICMP_ECHO_REQUEST)


def check_echo(ctx: CheckContext) -> CheckResult:
    ctx.lab("left", legacy_ip=True)
    ctx.load("xdp_icmp_echo_func", role="left", mode="native")
    tx_before = _counter(ctx, "left", "XDP_TX")
    with traffic.Tap(ctx.lab("left"), filter=_is_echo_request) as tap:
        six, four = (
            ctx.ping(
                "left",
                count=PINGS,
                family=family,
                timeout=REPLY_WAIT_S,
                first_seq=random.randint(100, 60000),
                size=random.randint(16, 1000),
            )
            for family in (6, 4)
        )
    sent_back = _counter(ctx, "left", "XDP_TX") - tx_before
    ctx.expect(
        six.received == PINGS and four.received == PINGS,
        f"answered: IPv6 {six.answered_seqs or 'none'}, IPv4 {four.answered_seqs or 'none'} of"
        f" {PINGS} each; a reply with a wrong checksum, type or address is thrown away",
    )
    ctx.expect(
        sent_back >= 2 * PINGS,
        f"the pings were answered, but XDP_TX counted only {sent_back} of {2 * PINGS};"
        " the replies must come from XDP (return XDP_TX), not from the kernel",
    )
    ctx.expect(
        tap.count == 0,
        f"{tap.count} echo requests still reached the host's stack; XDP should answer them all",
    )
    return ctx.passed(
        f"{2 * PINGS} pings (IPv6 and IPv4) answered by XDP: XDP_TX +{sent_back},"
        " no request reached the host"
    )


# ---- assignment 2: bpf_redirect -------------------------------------------


def _is_echo_reply_between(src: str, dst: str):  # noqa: ANN202 - a frame predicate
    def matches(frame: bytes) -> bool:
        parsed = packets.parse(frame)
        echo = parsed.echo()
        return (
            bool(echo)
            and echo[0] == packets.ICMPV6_ECHO_REPLY
            and (
                parsed.src,
                parsed.dst,
            )
            == (src, dst)
        )

    return matches


def check_redirect(ctx: CheckContext) -> CheckResult:
    left, right = ctx.lab("left"), ctx.lab("right")
    # An XDP_PASS program on left (the engine adds the one on left's veth0,
    # which a redirect into that veth needs).
    ctx.load("xdp_pass_func", role="left", mode="native")
    ctx.load("xdp_redirect_func", role="right", mode="native")
    target = struct.pack("=I6s2x", left.outer_ifindex, _mac(left.inner_mac))
    _map_update(ctx, "right", "redirect_target", struct.pack("=I", 0), target)

    redirected_before = _counter(ctx, "right", "XDP_REDIRECT")
    replies = _is_echo_reply_between(left.inner_ipv6, right.inner_ipv6)
    with traffic.Tap(left, filter=replies) as tap:
        _ping_address(ctx, "right", left.inner_ipv6)
        tap.wait_for(PINGS, timeout=REPLY_WAIT_S)
    redirected = _counter(ctx, "right", "XDP_REDIRECT") - redirected_before
    ctx.expect(
        redirected >= PINGS,
        f"XDP_REDIRECT on {right.outer} counted {redirected} packets for {PINGS} echo requests"
        " to the left lab; xdp_redirect_func must return bpf_redirect()'s verdict",
    )
    ctx.expect(
        tap.count >= PINGS,
        f"{redirected} frames were redirected, but the left lab answered only {tap.count} of"
        f" {PINGS} echo requests; is the destination MAC the left inner one"
        f" ({left.inner_mac})?",
    )
    return ctx.passed(
        f"XDP_REDIRECT +{redirected} on the right lab; the left lab received the requests and"
        f" sent {tap.count} replies"
    )


# ---- assignment 3: bpf_redirect_map ---------------------------------------


def check_redirect_map(ctx: CheckContext) -> CheckResult:
    from xdp_tui.engine.redirect import wire_redirect

    left = ctx.lab("left")
    ctx.load("xdp_redirect_map_func", role="left", mode="native")
    ctx.load("xdp_redirect_map_func", role="right", mode="native")
    # What `xdp-tui env redirect left right` does: both maps, both ways.
    wire_redirect(left, ctx.lab("right"))

    before = {role: _counter(ctx, role, "XDP_REDIRECT") for role in ("left", "right")}
    answered = _ping_address(ctx, "right", left.inner_ipv6)
    after = {role: _counter(ctx, role, "XDP_REDIRECT") for role in ("left", "right")}
    grown = {role: after[role] - before[role] for role in before}
    ctx.expect(
        answered == _all_seqs(),
        f"pinging the left lab's inner address from the right lab: answered"
        f" {answered or 'none'} of 1..{PINGS} (XDP_REDIRECT grew by {grown})",
    )
    ctx.expect(
        min(grown.values()) >= PINGS,
        f"the pings were answered, but XDP_REDIRECT grew by only {grown} (left/right);"
        " both directions must be redirected by XDP",
    )
    return ctx.passed(
        f"right -> left ping answered {PINGS}/{PINGS}; XDP_REDIRECT +{grown['right']} on right"
        f" (requests), +{grown['left']} on left (replies)"
    )


# ---- assignment 4: the router ---------------------------------------------


def _enable_forwarding(ifname: str) -> None:
    """Per-interface forwarding: bpf_fib_lookup() asks the ingress device.

    The interface belongs to a check lab and disappears with it, so nothing
    needs restoring and the host's global settings stay untouched.
    """
    for family in ("ipv4", "ipv6"):
        Path(f"/proc/sys/net/{family}/conf/{ifname}/forwarding").write_text("1\n")


def check_router(ctx: CheckContext) -> CheckResult:
    roles = ("left", "right", "third")
    labs = {role: ctx.lab(role, legacy_ip=True) for role in roles}
    for role in roles:
        _enable_forwarding(labs[role].outer)
        ctx.load("xdp_router_func", role=role, mode="native")
    before = {role: _counter(ctx, role, "XDP_REDIRECT") for role in roles}

    left, right = labs["left"], labs["right"]
    results = {
        "left -> right (IPv6)": _ping_address(ctx, "left", right.inner_ipv6),
        "left -> right (IPv4)": _ping_address(ctx, "left", right.inner_ipv4 or ""),
        "third -> left (IPv6)": _ping_address(ctx, "third", left.inner_ipv6),
    }
    grown = {role: _counter(ctx, role, "XDP_REDIRECT") - before[role] for role in roles}
    failed = {path: seqs for path, seqs in results.items() if seqs != _all_seqs()}
    ctx.expect(
        not failed,
        f"unanswered between labs: {failed} (answered sequence numbers of 1..{PINGS});"
        f" XDP_REDIRECT grew by {grown}",
    )
    # A frame is redirected where it enters: left's outer end sees left's
    # requests to right (IPv6 + IPv4) and the replies to third.
    ctx.expect(
        grown["left"] >= 3 * PINGS and grown["right"] >= 2 * PINGS and grown["third"] >= PINGS,
        f"the pings were answered, but XDP_REDIRECT grew by only {grown}; the router"
        " programs must forward with bpf_redirect(), not leave it to the kernel",
    )
    return ctx.passed(
        f"all pings between the labs answered (IPv6 and IPv4); XDP_REDIRECT grew by {grown}"
    )
