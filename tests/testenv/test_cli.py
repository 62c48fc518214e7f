"""`xdp-tui env ...` as a user runs it: a separate process, JSON out, clean errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.testenv.helpers import link_exists, netns_names

pytestmark = pytest.mark.kernel


def run_cli(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "xdp_tui", "env", *args]
    if user == "nobody":
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    # XDP_TUI_RUN_DIR is private to this test session (tests/conftest.py).
    return subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))


def run_json(*args: str) -> dict:
    done = run_cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def cli_lab(lab_name):
    name = lab_name("cli")
    yield name
    run_cli("teardown", "--name", name)


def test_setup_status_ping_traffic_teardown_json(cli_lab) -> None:
    lab = run_json("setup", "--name", cli_lab, "--legacy-ip")
    assert lab["name"] == cli_lab and lab["inner"] == "veth0" and lab["legacy_ip"] is True

    status = run_json("status")
    assert status["current"] == cli_lab
    entry = next(e for e in status["labs"] if e["name"] == cli_lab)
    assert set(entry) >= {"name", "outer", "inner", "ipv6", "ipv4", "healthy"}
    assert entry["healthy"] is True
    assert entry["ipv6"] == [lab["outer_ipv6"] + "/64", lab["inner_ipv6"] + "/64"]
    assert entry["ipv4"] == [lab["outer_ipv4"] + "/24", lab["inner_ipv4"] + "/24"]
    assert (entry["outer_mac"], entry["inner_mac"]) == (lab["outer_mac"], lab["inner_mac"])

    # No --name: the current lab.
    ping = run_json("ping", "-c", "3", "-i", "0.01")
    assert (ping["sent"], ping["received"], ping["answered_seqs"]) == (3, 3, [1, 2, 3])
    ping4 = run_json("ping", "--name", cli_lab, "-4", "-c", "2", "-i", "0.01")
    assert ping4["answered_seqs"] == [1, 2]

    stream = run_json("traffic", "--count", "200", "--proto", "tcp", "--port", "22")
    assert stream["sent"] == 200 and set(stream) >= {"sent", "pps", "duration_s"}
    assert stream["engine"] == "socket"  # no native XDP on the outer end
    kernel = run_cli("traffic", "--count", "10", "--engine", "kernel")
    assert kernel.returncode == 1 and "Traceback" not in kernel.stderr
    assert "needs a native-mode XDP program" in kernel.stderr

    done = run_json("teardown", "--name", cli_lab)
    assert done == {"removed": cli_lab}
    assert cli_lab not in netns_names() and not link_exists(cli_lab)


def test_exec_runs_inside_with_bpffs_and_lab_sysfs(cli_lab) -> None:
    run_json("setup", "--name", cli_lab)
    script = "ls /sys/class/net; test -d /sys/fs/bpf && grep -q ' /sys/fs/bpf bpf ' /proc/mounts && echo bpffs; echo $XDP_TUI_LAB"
    done = run_cli("exec", "--name", cli_lab, "--", "sh", "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["lo", "veth0", "bpffs", cli_lab]
    failed = run_cli("exec", "--name", cli_lab, "--", "sh", "-c", "exit 3")
    assert failed.returncode == 3


def test_pins_made_inside_are_the_hosts(cli_lab) -> None:
    """exec keeps the host's bpffs instance, not a fresh empty one."""
    from xdp_tui import paths

    run_json("setup", "--name", cli_lab)
    pin = paths.pin_dir(cli_lab) / "made_inside"
    create = f"mkdir -p {pin.parent} && bpftool map create {pin} type array key 4 value 4 entries 1 name inside"
    done = run_cli("exec", "--name", cli_lab, "--", "sh", "-c", create)
    assert done.returncode == 0, done.stderr
    assert pin.exists()
    run_json("teardown", "--name", cli_lab)
    # Made by bpftool, not xdp-tui: teardown leaves it (only xdp-tui's own pins go).
    assert pin.exists()
    pin.unlink()
    pin.parent.rmdir()


def test_errors_are_one_located_message(cli_lab) -> None:
    bad = run_cli("setup", "--name", "-x" * 3)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    unknown = run_cli("ping", "--name", cli_lab)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith(f"xdp-tui: error: lab {cli_lab}: no lab named {cli_lab}")
    assert "Traceback" not in unknown.stderr


def test_non_root_gets_exit_2_and_no_traceback() -> None:
    for args in (("status",), ("setup", "--name", "nobodylab"), ("ping",)):
        done = run_cli(*args, user="nobody")
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("xdp-tui: error: ") and "needs root" in done.stderr
        assert "Traceback" not in done.stderr
        assert done.stdout == ""


def test_broken_lab_gives_messages_and_reset_repairs(cli_lab) -> None:
    run_json("setup", "--name", cli_lab)
    subprocess.run(["ip", "netns", "del", cli_lab], check=True)
    entry = next(e for e in run_json("status")["labs"] if e["name"] == cli_lab)
    assert entry["healthy"] is False
    for args in (("exec", "--name", cli_lab, "--", "true"), ("ping", "--name", cli_lab)):
        done = run_cli(*args)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("xdp-tui: error: ") and "Traceback" not in done.stderr
        assert "env reset" in done.stderr
    run_json("reset", "--name", cli_lab)
    assert run_json("ping", "--name", cli_lab, "-c", "1")["answered_seqs"] == [1]


def test_ping_until_interrupted(cli_lab) -> None:
    import signal

    run_json("setup", "--name", cli_lab)
    command = [sys.executable, "-m", "xdp_tui", "env", "ping", "-c", "0", "-i", "0.05"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell may start us with SIGINT ignored; Ctrl-C must work here.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("ping ")
    assert "reply seq=1 " in proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    rest, errors = proc.communicate(timeout=10)
    assert proc.returncode == 0, errors
    # The summary counts what was sent before Ctrl-C (the last request may be unanswered).
    summary = rest.splitlines()[-1]
    assert " sent, " in summary and summary.split("answered: ")[1].split()[0] == "1"
