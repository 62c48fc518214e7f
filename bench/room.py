"""One room polling round over 50 hosts, next to `ansible all -m command` on the same hosts.

Run as root: `python bench/room.py [--hosts 50] [--steady 30]`. The hosts are
real: network namespaces each running Debian's sshd (tests/room/sshroom.py),
with two learners each. Measured in the same run:

- `xdp-tui room`'s poller: the first round (connecting to every host) and
  rounds over kept connections (median of 3): wall time and the instructor
  process's CPU (time.process_time: this process, which runs the poller);
- `ansible all -m command -a '<xdp-tui> progress --all-users --json' -f 50`:
  wall time and CPU of ansible and everything it waited for (RUSAGE_CHILDREN);
- the poller's CPU share at one round every 5 s over --steady seconds.

Each host's command is run twice over: the real `xdp-tui progress` (a Python
start-up per host, all 50 on this one 2-core machine, so the hosts' own work
dominates the wall time), and a canned copy of its output (`cat`), which
shows the instructor side alone, as when the hosts are 50 separate VMs.

Targets (issue 16): a round ≤ 2 s and ≥ 3x faster than the Ansible ad-hoc
run; ≤ 5 % of a core at one round every 5 s. Writes bench/results/room.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results_file import save_results  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.room.conftest import add_learner  # noqa: E402
from tests.room.sshroom import SshRoom, ssh_room  # noqa: E402
from xdp_tui.room import RoomPoller, load_inventory  # noqa: E402

ANSIBLE = Path(sys.executable).parent / "ansible"
PASS = ("basic01-xdp-pass", "1", True, "ok")
FAIL = ("basic02-prog-by-name", "1", False, "no program named xdp_drop_func")


def populate(room: SshRoom) -> None:
    """Two learners per host, and a canned copy of each host's real answer."""
    for host in room.hosts:
        add_learner(host, "ann", [PASS, FAIL, FAIL])
        add_learner(host, "bob", [PASS])
        answer = subprocess.run(
            [str(host.command), "progress", "--all-users", "--json"],
            capture_output=True,
            check=True,
        ).stdout
        (host.folder / "canned.json").write_bytes(answer)
        canned = host.folder / "canned"
        canned.write_text(f"#!/bin/sh\nexec cat {host.folder / 'canned.json'}\n")
        canned.chmod(0o755)


def canned_inventory(room: SshRoom) -> Path:
    text = room.write_inventory().read_text()
    for host in room.hosts:
        text = text.replace(
            f"xdp_tui_command={host.command}", f"xdp_tui_command={host.folder / 'canned'}"
        )
    path = room.folder / "canned.ini"
    path.write_text(text)
    return path


async def poller_rounds(inventory: Path, rounds: int) -> dict[str, float]:
    poller = RoomPoller(load_inventory(inventory), timeout_s=30.0, doctor=False)
    walls, cpus = [], []
    try:
        for _ in range(rounds + 1):
            wall, cpu = time.perf_counter(), time.process_time()
            result = await poller.poll()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            bad = [h.error for h in result.hosts if h.error]
            assert not bad, bad[:3]
            assert sum(len(h.learners) for h in result.hosts) == 2 * len(result.hosts)
    finally:
        await poller.close()
    return {
        "first_round_s": round(walls[0], 3),
        "first_round_cpu_s": round(cpus[0], 3),
        "round_s": round(statistics.median(walls[1:]), 3),
        "round_cpu_s": round(statistics.median(cpus[1:]), 3),
    }


async def steady_share(inventory: Path, seconds: float, interval_s: float) -> dict[str, float]:
    poller = RoomPoller(load_inventory(inventory), timeout_s=10.0, doctor=False)
    count = 0

    def counted(_room: object) -> None:
        nonlocal count
        count += 1

    await poller.poll()  # connected, as a running screen is
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        await asyncio.wait_for(poller.run(interval_s, counted), seconds)
    except TimeoutError:
        pass
    finally:
        used, elapsed = time.process_time() - cpu, time.perf_counter() - wall
        await poller.close()
    return {
        "rounds": count,
        "cpu_pct_of_core": round(100 * used / elapsed, 2),
        "seconds": round(elapsed, 1),
    }


def ansible_round(room: SshRoom, inventory: Path, forks: int) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run(
        [str(ANSIBLE), "all", "-i", str(inventory), "-f", str(forks), "-m", "command",
         "-a", "{{ xdp_tui_command }} progress --all-users --json"],
        env=room.env() | {"ANSIBLE_CONFIG": str(REPO / "deploy" / "ansible.cfg")},
        capture_output=True,
        text=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    answered = done.stdout.count("| CHANGED |")
    assert done.returncode == 0 and answered == len(room.hosts), done.stdout[-2000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(elapsed, 3), "cpu_s": round(cpu, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="warm rounds (median)")
    parser.add_argument("--steady", type=float, default=30.0, help="seconds at one round / 5 s")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    with ssh_room(args.hosts, tag="b") as room:
        populate(room)
        for key, value in room.env().items():  # the poller uses this HOME's ~/.ssh
            os.environ[key] = value
        os.environ.pop("SSH_AUTH_SOCK", None)
        real, canned = room.write_inventory(), canned_inventory(room)
        result: dict[str, object] = {"hosts": args.hosts, "load_avg_before": os.getloadavg()}
        for name, inventory in (("real", real), ("canned", canned)):
            ours = asyncio.run(poller_rounds(inventory, args.rounds))
            theirs = ansible_round(room, inventory, forks=args.hosts)
            result[name] = {
                "room": ours,
                "ansible": theirs,
                "speedup_first_round": round(theirs["wall_s"] / ours["first_round_s"], 2),
                "speedup_round": round(theirs["wall_s"] / ours["round_s"], 2),
                "cpu_ratio_round": round(theirs["cpu_s"] / max(ours["round_cpu_s"], 1e-3), 1),
            }
            print(name, result[name], flush=True)
        if args.steady:
            result["steady_real_every_5s"] = asyncio.run(steady_share(real, args.steady, 5.0))
            print("steady", result["steady_real_every_5s"], flush=True)
        result["load_avg_after"] = os.getloadavg()
    if not args.no_save:
        print(save_results("room", result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
