"""A real room on one machine: network namespaces each running Debian's sshd.

Each host is a namespace (with its own hostname, via a UTS namespace) joined to
the root namespace by a veth pair, with sshd listening on its own address,
root login by a temporary key, and a private home root of learners. The remote
`xdp-tui` is a wrapper that runs this checkout's code (sshd runs commands from
the root filesystem) with that home root. Used by tests/room and bench/room.py;
everything made is removed on exit, even after a failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"

# A wrapper that misbehaves on purpose: prints garbage, or answers too late.
GARBAGE = "#!/bin/sh\necho 'Traceback (most recent call last): {not json'\n"
SLOW = "#!/bin/sh\nsleep 30\n"


@dataclass
class SshHost:
    name: str  # inventory name = netns name = hostname inside
    address: str
    folder: Path
    command: Path  # the remote xdp-tui wrapper
    homes: Path  # XDP_TUI_HOMES on that host
    root_link: str  # its veth end in the root namespace
    sshd: subprocess.Popen[bytes] | None = None


@dataclass
class SshRoom:
    prefix: str
    folder: Path
    hosts: list[SshHost] = field(default_factory=list)
    throwaway_root: bool = False  # hosts see / through an overlay whose writes vanish

    @property
    def instructor_home(self) -> Path:
        return self.folder / "instructor"

    @property
    def key(self) -> Path:
        return self.instructor_home / ".ssh" / "id_ed25519"

    @property
    def ssh_config(self) -> Path:
        return self.instructor_home / ".ssh" / "config"

    def env(self) -> dict[str, str]:
        """Environment of an instructor process: our HOME (~/.ssh), no agent, this checkout."""
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        env |= {"HOME": str(self.instructor_home), "PYTHONPATH": str(REPO)}
        env["ANSIBLE_LOCAL_TEMP"] = str(self.folder / "ansible-local")
        return env

    def write_inventory(self, hosts: list[SshHost] | None = None, *, yaml: bool = False) -> Path:
        hosts = self.hosts if hosts is None else hosts
        common = {
            "ansible_user": "root",
            "ansible_port": "22",
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": f"-F {self.ssh_config}",
            "ansible_python_interpreter": sys.executable.replace(
                sys.executable, "/usr/bin/python3"
            ),
        }
        if yaml:
            lines = ["all:", "  children:", "    room:", "      hosts:"]
            for host in hosts:
                lines += [f"        {host.name}:", f"          ansible_host: {host.address}"]
                lines += [f"          xdp_tui_command: {host.command}"]
            lines += ["      vars:"] + [f"        {k}: '{v}'" for k, v in common.items()]
            path = self.folder / "inventory.yml"
        else:
            lines = ["[room]"]
            lines += [
                f"{h.name} ansible_host={h.address} xdp_tui_command={h.command}" for h in hosts
            ]
            lines += ["", "[room:vars]"] + [f"{k}={v}" for k, v in common.items()]
            path = self.folder / "inventory.ini"
        path.write_text("\n".join(lines) + "\n")
        return path

    def lab_name(self, host: SshHost) -> str:
        """A lab name for HOST's own lab (never the default test01)."""
        return f"{self.prefix}L{self.hosts.index(host) + 1}"

    def host(self, index: int) -> SshHost:
        return self.hosts[index]

    def misbehave(self, host: SshHost, script: str) -> None:
        host.command.write_text(script)

    def refuse_instructor(self, host: SshHost) -> None:
        """Authorized keys no longer hold the instructor's key (a wrong key)."""
        other = self.folder / "other_key"
        if not other.exists():
            _keygen(other)
        (host.folder / "authorized_keys").write_text(other.with_suffix(".pub").read_text())

    def stop(self, host: SshHost) -> None:
        """Power the host off: every process in its namespace dies, links stay."""
        pids = subprocess.run(["ip", "netns", "pids", host.name], capture_output=True, text=True)
        for pid in pids.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        if host.sshd is not None:
            host.sshd.wait(5)


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xdp-tui room test", "-f", str(path)],
        check=True,
    )


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@contextlib.contextmanager
def ssh_room(count: int, *, tag: str = "", throwaway_root: bool = False) -> Iterator[SshRoom]:
    """COUNT namespaced sshd hosts named hG<id><tag>n<i>; all removed on exit.

    THROWAWAY_ROOT: each host's sshd runs chrooted in an overlay of / on a tmpfs,
    so what is done there as root (users, /etc) stays in that host."""
    if not os.access(SSHD, os.X_OK):
        raise RuntimeError(f"{SSHD} missing: apt-get install openssh-server")
    ident = f"{os.getpid() % 10000:04d}{tag[:1]}"
    prefix = f"hG{ident}"
    octet = _free_octet()
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    os.chmod(folder, 0o755)
    room = SshRoom(prefix=prefix, folder=folder, throwaway_root=throwaway_root)
    try:
        _prepare_instructor(room)
        for index in range(1, count + 1):
            host = _make_host(room, index, f"10.{octet}.{index}")
            room.hosts.append(host)
        (room.instructor_home / ".ssh" / "known_hosts").write_text(
            "".join(f"{h.address} {_host_key_line(room)}" for h in room.hosts)
        )
        for host in room.hosts:
            _start_sshd(room, host)
        _wait_listening(room)
        yield room
    finally:
        _remove(room)


def _free_octet() -> int:
    """A second octet X with no 10.X.*.* route yet: two rooms at once (a test
    and the bench) must not share addresses, or one reaches the other's hosts."""
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True).stdout
    used = {int(m) for m in re.findall(r"^10\.(\d+)\.", routes, re.M)}
    start = 200 + os.getpid() % 50
    for octet in [*range(start, 250), *range(200, start)]:
        if octet not in used:
            return octet
    raise RuntimeError("no free 10.X.0.0/16 for a test room")


def _prepare_instructor(room: SshRoom) -> None:
    ssh = room.instructor_home / ".ssh"
    ssh.mkdir(parents=True, mode=0o700)
    _keygen(room.key)
    _keygen(room.folder / "host_ed25519")
    room.ssh_config.write_text(
        "Host *\n"
        f"  IdentityFile {room.key}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {ssh / 'known_hosts'}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
    )
    (room.folder / "ansible-local").mkdir()


def _host_key_line(room: SshRoom) -> str:
    return (room.folder / "host_ed25519.pub").read_text()


def _make_host(room: SshRoom, index: int, net: str) -> SshHost:
    name = f"{room.prefix}n{index}"
    folder = room.folder / name
    homes = folder / "homes"
    homes.mkdir(parents=True)
    host = SshHost(
        name=name,
        address=f"{net}.2",
        folder=folder,
        command=folder / "xdp-tui",
        homes=homes,
        root_link=f"{room.prefix}v{index}",
    )
    host.command.write_text(
        "#!/bin/sh\n"
        f"export PYTHONPATH={REPO} XDP_TUI_HOMES={homes}\n"
        f"export XDP_TUI_RUN_DIR={folder / 'run'} XDP_TUI_DATA_DIR={folder / 'data'}\n"
        f'exec {sys.executable} -m xdp_tui "$@"\n'
    )
    host.command.chmod(0o755)
    (folder / "authorized_keys").write_text(room.key.with_suffix(".pub").read_text())
    _run("ip", "netns", "add", name)
    _run("ip", "link", "add", host.root_link, "type", "veth", "peer", "name", "eth0", "netns", name)
    _run("ip", "addr", "add", f"{net}.1/24", "dev", host.root_link)
    _run("ip", "link", "set", host.root_link, "up")
    _run("ip", "-n", name, "addr", "add", f"{host.address}/24", "dev", "eth0")
    _run("ip", "-n", name, "link", "set", "eth0", "up")
    _run("ip", "-n", name, "link", "set", "lo", "up")
    (folder / "sshd_config").write_text(
        f"ListenAddress {host.address}\n"
        f"HostKey {room.folder / 'host_ed25519'}\n"
        # root's key here; learners' (made by deploy/ in a throwaway host) in their homes
        f"AuthorizedKeysFile {folder / 'authorized_keys'} .ssh/authorized_keys\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "MaxStartups 100:30:200\n"
        "MaxSessions 100\n"
        "Subsystem sftp internal-sftp\n"
        "LogLevel INFO\n"
    )
    return host


def _start_sshd(room: SshRoom, host: SshHost) -> None:
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
    log = (host.folder / "sshd.log").open("wb")
    # A UTS namespace of its own, so `hostname` on the host says its name, and a
    # /root of its own (in the mount namespace `ip netns exec` made) like a fresh VM:
    # root's real dotfiles (a pyenv init in .bashrc) stay out of every command.
    root_home = host.folder / "root"
    root_home.mkdir(mode=0o700)
    sshd = f"{SSHD} -D -e -f {host.folder / 'sshd_config'}"
    if room.throwaway_root:
        script = _throwaway_root_script(host, root_home, sshd)
    else:
        script = f"mount --bind {root_home} /root && hostname {host.name} && exec {sshd}"
    host.sshd = subprocess.Popen(
        ["ip", "netns", "exec", host.name, "unshare", "--uts", "--mount", "sh", "-c", script],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()


def _throwaway_root_script(host: SshHost, root_home: Path, sshd: str) -> str:
    """sh that runs sshd chrooted in an overlay of / whose writes go to a tmpfs.

    The host then is a throwaway copy of this machine: Ansible may add users,
    sudoers and keys there for real, and they vanish with the host's mount
    namespace (the private propagation of `unshare --mount` keeps them in).
    """
    layer = host.folder / "layer"
    merged = host.folder / "merged"
    return " && ".join(
        [
            f"mkdir -p {layer} {merged}",
            f"mount -t tmpfs tmpfs {layer}",
            f"mkdir {layer}/upper {layer}/work",
            f"mount -t overlay overlay -o lowerdir=/,upperdir={layer}/upper,workdir={layer}/work {merged}",
            f"mount --rbind /proc {merged}/proc",
            f"mount --rbind /dev {merged}/dev",
            f"mount --rbind /sys {merged}/sys",
            f"mount --bind {root_home} {merged}/root",
            f"hostname {host.name}",
            f"exec chroot {merged} {sshd}",
        ]
    )


def _wait_listening(room: SshRoom, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = list(room.hosts)
    while waiting and time.monotonic() < deadline:
        waiting = [h for h in waiting if not _listening(h)]
        if waiting:
            time.sleep(0.05)
    if waiting:
        logs = "; ".join((h.folder / "sshd.log").read_text()[-300:] for h in waiting[:2])
        raise RuntimeError(f"sshd did not start on {[h.name for h in waiting]}: {logs}")


def _listening(host: SshHost) -> bool:
    out = subprocess.run(
        ["ip", "netns", "exec", host.name, "ss", "-Hltn", "sport = :22"],
        capture_output=True,
        text=True,
    ).stdout
    return bool(out.strip())


def _remove(room: SshRoom) -> None:
    for host in room.hosts:
        with contextlib.suppress(Exception):
            room.stop(host)
        subprocess.run(["ip", "link", "del", host.root_link], capture_output=True)
        subprocess.run(["ip", "netns", "del", host.name], capture_output=True)
    # Labs made inside a host (its own mount namespace) leave an unmounted
    # /run/netns/<name> file on the shared /run once the host is gone.
    for leftover in Path("/run/netns").glob(f"{room.prefix}*"):
        if not os.path.ismount(leftover):
            leftover.unlink(missing_ok=True)
    shutil.rmtree(room.folder, ignore_errors=True)
