"""deploy/: ansible-lint clean, and ansible-playbook against the namespaced sshd hosts.

Run for real: the lab (made in each host's own namespaces, by its private
xdp-tui), the doctor report, and the learner accounts with their sudoers and
keys (on hosts whose / is an overlay on a tmpfs, so users and /etc changes stay
in the host). Check mode only: the install part (apt from the network, which
the hosts lack, and /opt + setup.sh + pip) and everything in one full pass.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.room.sshroom import REPO, SshRoom, _keygen, ssh_room

pytestmark = pytest.mark.kernel
BIN = Path(__import__("sys").executable).parent
DEPLOY = REPO / "deploy"


def _recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> {host: {"ok": n, "changed": n, ...}}."""
    recap = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        recap[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return recap


def _playbook(
    room: SshRoom, *extra: str, csv: str | None = None
) -> tuple[dict[str, dict[str, int]], str]:
    inventory = room.write_inventory()
    lines = []  # each host's own xdp-tui and lab
    for line in inventory.read_text().splitlines():
        host = next((h for h in room.hosts if line.startswith(h.name + " ")), None)
        if host is not None:
            line += f" xdp_tui_bin={host.command} xdp_tui_lab={room.lab_name(host)}"
        lines.append(line)
    inventory.write_text("\n".join(lines) + "\n")
    archive = room.folder / "xdp-tui.tar.gz"
    if not archive.exists():
        subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), "HEAD"], check=True)
    learners = room.folder / "learners.csv"
    learners.write_text(csv or f"# host,user\n{room.host(0).name},{room.prefix}ann\n")
    settings = {
        "xdp_tui_archive": str(archive),
        "xdp_tui_learners_csv": str(learners),
        "doctor_report": str(room.folder / "doctor-report.json"),
    }
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(DEPLOY / "site.yml"),
         "-e", json.dumps(settings), *extra],
        env=room.env() | {"ANSIBLE_CONFIG": str(DEPLOY / "ansible.cfg")},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    # 4: some host unreachable (the one refusing our key), the rest went on
    assert done.returncode in (0, 4), done.stdout[-3000:] + done.stderr[-2000:]
    return _recap(done.stdout), done.stdout


@pytest.fixture
def room(monkeypatch: pytest.MonkeyPatch) -> Iterator[SshRoom]:
    """Three hosts; the third refuses the instructor's key."""
    with ssh_room(3, tag="d") as made:
        made.refuse_instructor(made.host(2))
        yield made


def test_ansible_lint_is_clean() -> None:
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "--nocolor"],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_whole_playbook_in_check_mode_over_ssh(room: SshRoom) -> None:
    recap, output = _playbook(room, "--check")
    for host in room.hosts[:2]:
        assert recap[host.name]["failed"] == 0, output[-4000:]
        assert recap[host.name]["unreachable"] == 0
    refused = room.host(2).name
    assert recap[refused]["unreachable"] == 1  # the host that refuses our key
    assert f"changed: [{room.host(0).name}] => (item={{'name': '{room.prefix}ann'" in output
    assert "Let learners run xdp-tui as root, and nothing else" in output
    # check mode changed nothing on this machine
    assert subprocess.run(["id", f"{room.prefix}ann"], capture_output=True).returncode != 0
    assert not (room.folder / "doctor-report.json").exists()


def test_lab_and_report_for_real_then_nothing_changes(room: SshRoom) -> None:
    first, _ = _playbook(room, "--tags", "lab,report")
    good = room.hosts[:2]
    for host in good:
        assert first[host.name]["changed"] == 1 and first[host.name]["failed"] == 0
    report = json.loads((room.folder / "doctor-report.json").read_text())
    assert set(report) >= {h.name for h in good}
    assert all("checks" in report[h.name] for h in good)
    assert report[room.host(2).name]["ok"] is False  # unreachable: said so in the report
    for host in good:  # the lab exists inside the host, made by that host's xdp-tui
        links = subprocess.run(
            ["ip", "-n", host.name, "-br", "link"], capture_output=True, text=True
        ).stdout
        assert room.lab_name(host) in links

    again, _ = _playbook(room, "--tags", "lab,report")
    assert all(again[h.name]["changed"] == 0 for h in good), again
    assert again["localhost"]["changed"] == 0


@pytest.fixture
def throwaway_room() -> Iterator[SshRoom]:
    """Two hosts whose / is an overlay on a tmpfs: accounts can be made for real."""
    with ssh_room(2, tag="a", throwaway_root=True) as made:
        yield made


def test_learner_accounts_for_real_with_sudo_limited_to_xdp_tui(throwaway_room: SshRoom) -> None:
    room = throwaway_room
    key = room.folder / "ann_key"
    _keygen(key)
    ann, bob = f"{room.prefix}ann", f"{room.prefix}bob"
    csv = (
        "# host,user,ssh public key\n"
        f"{room.host(0).name},{ann},{key.with_suffix('.pub').read_text().strip()}\n"
        f"{room.host(1).name}, {bob}\n"
    )
    # the apt step needs the network, which the hosts do not have; the packages are here
    args = ("--tags", "accounts", "--skip-tags", "packages")
    first, _ = _playbook(room, *args, csv=csv)
    assert first[room.host(0).name]["changed"] == 4  # user, ~/.ssh, authorized_keys, sudoers
    assert first[room.host(1).name]["changed"] == 2  # user, sudoers
    again, _ = _playbook(room, *args, csv=csv)
    assert all(again[h.name]["changed"] == 0 for h in room.hosts), again
    assert subprocess.run(["id", ann], capture_output=True).returncode != 0  # not on this machine

    host = room.host(0)
    as_ann = ["ssh", "-F", str(room.ssh_config), "-i", str(key), f"{ann}@{host.address}"]
    allowed = subprocess.run(
        [*as_ann, f"sudo -n {host.command} progress --all-users --json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert allowed.returncode == 0, allowed.stderr + (host.folder / "sshd.log").read_text()[-1500:]
    assert json.loads(allowed.stdout)["hostname"] == host.name
    refused = subprocess.run([*as_ann, "sudo -n id"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "uid=0" not in refused.stdout
