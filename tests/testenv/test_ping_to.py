"""`traffic.ping(..., dst=)` and `xdp-tui env ping --to`: ping any address from a lab.

Two labs reach each other's inner ends through the host when the host
forwards between their outer ends. Forwarding is switched on per interface,
only on the test's own labs (the interfaces vanish with them); IPv6 needs
`force_forwarding` as well, since plain per-interface `forwarding` does not
make the kernel forward IPv6 while the global switch is off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testenv import traffic
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel

# Routed inside every lab (fc00:dead:cafe::/48 goes out of the outer end),
# but no lab has this prefix: the host finds no route and drops it.
NOBODY_IPV6 = "fc00:dead:cafe:fff0::2"
# Not routed inside the namespace at all: sendto() fails with ENETUNREACH.
UNROUTED_IPV6 = "2001:db8::1"


def _forward(*labs: object) -> None:
    for lab in labs:
        outer = lab.outer  # type: ignore[attr-defined]
        for knob in ("ipv4/conf/{}/forwarding", "ipv6/conf/{}/forwarding"):
            Path("/proc/sys/net", knob.format(outer)).write_text("1\n")
        force = Path(f"/proc/sys/net/ipv6/conf/{outer}/force_forwarding")
        if force.exists():
            force.write_text("1\n")


@pytest.fixture
def two_labs(make_lab):
    left, right = make_lab("pa", legacy_ip=True), make_lab("pb", legacy_ip=True)
    _forward(left, right)
    return left, right


def test_ping_another_labs_inner_end_over_the_host(two_labs) -> None:
    left, right = two_labs
    six = traffic.ping(left, 3, interval=0.01, dst=right.inner_ipv6)
    assert six.answered_seqs == [1, 2, 3]
    assert six.dst == right.inner_ipv6 and six.unreachable == ""
    # The family follows the address, whatever `family` says.
    four = traffic.ping(left, 3, interval=0.01, dst=right.inner_ipv4)
    assert four.answered_seqs == [1, 2, 3] and four.dst == right.inner_ipv4


def test_default_destination_is_still_the_outer_end(make_lab) -> None:
    lab = make_lab("pd")
    result = traffic.ping(lab, 2, interval=0.01)
    assert result.answered_seqs == [1, 2] and result.dst == lab.outer_ipv6


def test_unreachable_addresses_are_unanswered_not_errors(two_labs) -> None:
    left, _right = two_labs
    dropped = traffic.ping(left, 2, interval=0.01, timeout=0.2, dst=NOBODY_IPV6)
    assert (dropped.sent, dropped.received, dropped.unreachable) == (2, 0, "")
    unrouted = traffic.ping(left, 2, interval=0.01, timeout=0.2, dst=UNROUTED_IPV6)
    assert (unrouted.sent, unrouted.received) == (2, 0)
    assert "unreachable" in unrouted.unreachable.lower()


def test_bad_destinations_get_clear_errors(make_lab) -> None:
    six_only = make_lab("pe")
    with pytest.raises(XdpTuiError, match="not an IP address"):
        traffic.ping(six_only, 1, dst="left")
    with pytest.raises(XdpTuiError, match="no IPv4 addresses"):
        traffic.ping(six_only, 1, dst="10.11.1.2")
    with pytest.raises(XdpTuiError, match="outer address"):
        traffic.ping(six_only, 1, dst=six_only.outer_ipv6, vlan=5)


# ---- the CLI, as a separate process --------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "xdp_tui", "env", *args]
    return subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))


def test_cli_ping_to_json_and_text(two_labs) -> None:
    left, right = two_labs
    done = _cli("ping", "--name", left.name, "--to", right.inner_ipv6, "-c", "2", "-i", "0.01")
    assert done.returncode == 0, done.stderr
    assert f"ping {right.inner_ipv6}" in done.stdout and "2 received" in done.stdout

    done = _cli(
        "ping", "-n", left.name, "--to", right.inner_ipv4, "-c", "2", "-i", "0.01", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["answered_seqs"] == [1, 2] and result["dst"] == right.inner_ipv4

    done = _cli("ping", "-n", left.name, "--to", NOBODY_IPV6, "-c", "2", "--timeout", "0.2")
    assert done.returncode == 0 and "0 received" in done.stdout
    assert "Traceback" not in done.stderr


def test_cli_ping_to_refuses_nonsense(two_labs) -> None:
    left, right = two_labs
    for args, message in [
        (("--to", "not-an-address"), "is not an IP address"),
        (("-4", "--to", right.inner_ipv6), "is an IPv6 address"),
        (("--vlan", "5", "--to", right.inner_ipv6), "outer address"),
    ]:
        done = _cli("ping", "-n", left.name, "-c", "1", *args)
        assert done.returncode != 0 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
