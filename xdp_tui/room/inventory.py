"""Hosts of the room from an Ansible inventory (INI or YAML), as Ansible reads them.

When Ansible is installed, `ansible-inventory --list` parses the file: the
instructor gets exactly Ansible's reading (ranges such as lab[01:50], group
and host vars, group_vars/ folders, plugins, precedence) for free. Without
Ansible a small parser reads the common subset: groups, children, vars, and
the host, port and user variables.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdp_tui.errors import XdpTuiError

# The remote command's default: learners' VMs reach xdp-tui through sudo
# limited to it (deploy/ sets that up); a root login needs no sudo.
DEFAULT_COMMAND = "sudo -n xdp-tui"
# Host var naming another invocation (a wrapper, a venv path) on that host.
COMMAND_VAR = "xdp_tui_command"
_INVENTORY_TIMEOUT_S = 60.0
# An inventory is a small text file (or Ansible's inventory folder); more is a mistake.
_INVENTORY_LIMIT = 4 << 20


@dataclass(frozen=True)
class RoomHost:
    """One lab VM: how to reach it and how to run xdp-tui there."""

    name: str  # inventory name, shown to the instructor
    address: str  # ansible_host, else the name (ssh config may map it further)
    port: int | None = None  # ansible_port; None: ~/.ssh/config or 22
    user: str | None = None  # ansible_user; None: ~/.ssh/config or the local user
    key_file: str | None = None  # ansible_ssh_private_key_file
    command: str = DEFAULT_COMMAND

    def remote(self, *arguments: str) -> str:
        return " ".join([self.command, *(shlex.quote(a) for a in arguments)])


def load_inventory(path: Path) -> list[RoomHost]:
    """Every host of the inventory at PATH, sorted by name."""
    if not path.exists():
        raise XdpTuiError(
            "no such inventory", location=str(path), hint="pass --inventory FILE (INI or YAML)"
        )
    _check_readable_inventory(path)
    tool = _ansible_inventory_tool()
    hostvars = _read_with_ansible(tool, path) if tool else _read_without_ansible(path)
    if not hostvars:
        raise XdpTuiError("the inventory names no hosts", location=str(path))
    return sorted((_host(name, hvars, path) for name, hvars in hostvars.items()), key=_order)


def _check_readable_inventory(path: Path) -> None:
    """Refuse devices, FIFOs and huge files before Ansible (or we) read them without end."""
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        return  # Ansible reads inventory folders itself
    if not stat.S_ISREG(info.st_mode):
        raise XdpTuiError("not a regular file or folder", location=str(path))
    if info.st_size > _INVENTORY_LIMIT:
        raise XdpTuiError(
            f"is {info.st_size} bytes; an inventory is at most {_INVENTORY_LIMIT} bytes",
            location=str(path),
        )


def _order(host: RoomHost) -> tuple[str, str]:
    return (host.name.rstrip("0123456789"), host.name.rjust(64))


def _ansible_inventory_tool() -> str | None:
    beside = Path(sys.executable).with_name("ansible-inventory")  # same venv
    return str(beside) if os.access(beside, os.X_OK) else shutil.which("ansible-inventory")


def _read_with_ansible(tool: str, path: Path) -> dict[str, dict[str, Any]]:
    try:
        done = subprocess.run(
            [tool, "--list", "-i", str(path)],
            capture_output=True,
            text=True,
            timeout=_INVENTORY_TIMEOUT_S,
            env=os.environ | {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise XdpTuiError(f"ansible-inventory did not run: {exc}", location=str(path)) from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit {done.returncode}"
        raise XdpTuiError(f"ansible-inventory refused it: {reason}", location=str(path))
    try:
        listing = json.loads(done.stdout)
    except ValueError as exc:
        raise XdpTuiError("ansible-inventory printed no JSON", location=str(path)) from exc
    hostvars: dict[str, dict[str, Any]] = {
        name: dict(hvars) for name, hvars in listing.get("_meta", {}).get("hostvars", {}).items()
    }
    for group, body in listing.items():
        if group != "_meta" and isinstance(body, dict):
            for name in body.get("hosts", []):
                hostvars.setdefault(name, {})
    return hostvars


# ---- without Ansible: the common subset ------------------------------------


def _read_without_ansible(path: Path) -> dict[str, dict[str, Any]]:
    text = _read_text(path)
    if path.suffix in (".yml", ".yaml") or text.lstrip().startswith(("all:", "---")):
        return _read_yaml(text, path)
    return _read_ini(text, path)


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise XdpTuiError(f"cannot read the inventory: {exc}", location=str(path)) from exc


def _read_ini(text: str, path: Path) -> dict[str, dict[str, Any]]:
    """Ansible's INI: [group] host lines with k=v, [group:vars], [group:children]."""
    group_hosts: dict[str, list[str]] = {"ungrouped": []}
    group_vars: dict[str, dict[str, str]] = {}
    children: dict[str, list[str]] = {}
    host_vars: dict[str, dict[str, str]] = {}
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise XdpTuiError("unclosed section header", location=f"{path}:{number}")
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise XdpTuiError(f"unknown section kind {kind!r}", location=f"{path}:{number}")
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise XdpTuiError(f"cannot split the line: {exc}", location=f"{path}:{number}") from exc
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise XdpTuiError("expected key=value", location=f"{path}:{number}")
            group_vars.setdefault(section, {})[key.strip()] = value.strip()
        elif kind == "children":
            children.setdefault(section, []).append(words[0])
        else:
            pairs = [w.partition("=") for w in words[1:]]
            if any(not sep for _, sep, _ in pairs):
                raise XdpTuiError("host variables must be key=value", location=f"{path}:{number}")
            group_hosts.setdefault(section, []).append(words[0])
            host_vars.setdefault(words[0], {}).update({k: v for k, _, v in pairs})
    return _merge(group_hosts, group_vars, children, host_vars)


def _read_yaml(text: str, path: Path) -> dict[str, dict[str, Any]]:
    try:
        import yaml
    except ImportError as exc:
        raise XdpTuiError(
            "reading a YAML inventory needs Ansible or PyYAML",
            location=str(path),
            hint="pip install ansible-core (or PyYAML), or use an INI inventory",
        ) from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise XdpTuiError(f"not YAML: {exc}", location=str(path)) from exc
    if not isinstance(data, dict):
        raise XdpTuiError("a YAML inventory is a mapping of groups", location=str(path))
    group_hosts: dict[str, list[str]] = {}
    group_vars: dict[str, dict[str, Any]] = {}
    children: dict[str, list[str]] = {}
    host_vars: dict[str, dict[str, Any]] = {}

    def walk(group: str, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        for name, hvars in (body.get("hosts") or {}).items():
            group_hosts.setdefault(group, []).append(str(name))
            host_vars.setdefault(str(name), {}).update(hvars if isinstance(hvars, dict) else {})
        group_vars[group] = dict(body.get("vars") or {})
        for child, child_body in (body.get("children") or {}).items():
            children.setdefault(group, []).append(str(child))
            walk(str(child), child_body)

    for group, body in data.items():
        walk(str(group), body)
    return _merge(group_hosts, group_vars, children, host_vars)


def _merge(
    group_hosts: dict[str, list[str]],
    group_vars: dict[str, dict[str, Any]],
    children: dict[str, list[str]],
    host_vars: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Host vars win over a child group's, which win over its parents' (Ansible's order)."""
    merged: dict[str, dict[str, Any]] = {name: {} for name in host_vars}

    def apply(group: str, inherited: dict[str, Any], seen: frozenset[str]) -> None:
        if group in seen:
            return
        values = inherited | group_vars.get(group, {})
        for name in group_hosts.get(group, []):
            merged[name] = merged[name] | values
        for child in children.get(group, []):
            apply(child, values, seen | {group})

    roots = set(group_hosts) | set(group_vars) | set(children)
    roots -= {c for kids in children.values() for c in kids}
    base = group_vars.get("all", {})
    for group in sorted(roots):
        apply(group, base, frozenset())
    return {name: merged[name] | host_vars[name] for name in host_vars}


def _host(name: str, hvars: dict[str, Any], path: Path) -> RoomHost:
    port = hvars.get("ansible_port", hvars.get("ansible_ssh_port"))
    try:
        port_number = int(port) if port not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise XdpTuiError(
            f"host {name}: ansible_port {port!r} is not a number", location=str(path)
        ) from exc
    user = hvars.get("ansible_user", hvars.get("ansible_ssh_user"))
    command = hvars.get(COMMAND_VAR) or ("xdp-tui" if user == "root" else DEFAULT_COMMAND)
    key = hvars.get("ansible_ssh_private_key_file")
    return RoomHost(
        name=name,
        address=str(hvars.get("ansible_host") or name),
        port=port_number,
        user=str(user) if user else None,
        key_file=str(key) if key else None,
        command=str(command),
    )
