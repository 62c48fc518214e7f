"""`xdp-tui doctor`: is this machine ready for the workshop?

Each check returns a `Check` saying what it found and, when it failed, the
exact command that fixes it. Checks run in parallel threads (clang, bcc and
the veth trial are the slow ones) to stay well under three seconds.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import platform
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from xdp_tui.stderr import quiet_fd2

SETUP_FIX = "sudo ./setup.sh install   (from the xdp-tui checkout)"

# Capability bits (linux/capability.h) the app relies on.
CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 12, 21, 38, 39

TINY_XDP_PROGRAM = """\
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int doctor_pass(struct xdp_md *ctx)
{
\treturn XDP_PASS;
}

char _license[] SEC("license") = "GPL";
"""

TINY_TRACEPOINT = "TRACEPOINT_PROBE(xdp, xdp_exception) { return 0; }"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _mount_type(path: str) -> str | None:
    """The filesystem type mounted exactly at `path`, per /proc/self/mounts."""
    found = None
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) >= 3 and fields[1] == path:
                found = fields[2]  # the last mount on a path is the visible one
    return found


def check_root() -> Check:
    if os.geteuid() != 0:
        return Check("root", False, f"running as uid {os.geteuid()}", "run with sudo")
    capabilities = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                capabilities = int(line.split()[1], 16)
    wanted = {"CAP_BPF": CAP_BPF, "CAP_NET_ADMIN": CAP_NET_ADMIN, "CAP_SYS_ADMIN": CAP_SYS_ADMIN}
    missing = [name for name, bit in wanted.items() if not capabilities >> bit & 1]
    if missing:
        return Check(
            "root",
            False,
            "missing " + ", ".join(missing),
            "run as real root, not in a restricted container",
        )
    return Check("root", True, "uid 0 with CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN")


def check_kernel() -> Check:
    release = platform.release()
    numbers = [int(part) for part in release.split("-")[0].split(".")[:2] if part.isdigit()]
    version = tuple(numbers) if len(numbers) == 2 else (0, 0)
    ok = version >= (5, 10)
    return Check(
        "kernel",
        ok,
        f"Linux {release}"
        + ("" if ok else " (lessons need 5.10+: bounded loops, BTF maps, bpf_link for XDP)"),
        "" if ok else "boot a kernel 5.10 or newer (Debian 12 ships 6.1)",
    )


def check_jit() -> Check:
    path = Path("/proc/sys/net/core/bpf_jit_enable")
    value = path.read_text().strip() if path.exists() else "missing"
    ok = value in ("1", "2")
    return Check(
        "bpf_jit",
        ok,
        f"bpf_jit_enable={value}",
        "" if ok else "sysctl -w net.core.bpf_jit_enable=1",
    )


def check_btf() -> Check:
    ok = Path("/sys/kernel/btf/vmlinux").exists()
    return Check(
        "btf",
        ok,
        "/sys/kernel/btf/vmlinux present" if ok else "the kernel exposes no BTF",
        "" if ok else "use a kernel built with CONFIG_DEBUG_INFO_BTF=y",
    )


def check_bpffs() -> Check:
    kind = _mount_type("/sys/fs/bpf")
    ok = kind == "bpf"
    return Check(
        "bpffs",
        ok,
        "bpffs mounted on /sys/fs/bpf" if ok else f"/sys/fs/bpf is {kind or 'not mounted'}",
        "" if ok else "mount -t bpf bpf /sys/fs/bpf",
    )


def check_tracefs() -> Check:
    if _mount_type("/sys/kernel/tracing") == "tracefs":
        return Check("tracefs", True, "tracefs mounted on /sys/kernel/tracing")
    if Path("/sys/kernel/debug/tracing/trace_pipe").exists():
        return Check("tracefs", True, "tracing available under /sys/kernel/debug/tracing")
    return Check(
        "tracefs",
        False,
        "tracefs not mounted: no trace_pipe for bpf_printk, no tracepoint monitor",
        "mount -t tracefs tracefs /sys/kernel/tracing",
    )


def check_clang(workdir: Path) -> Check:
    """Build a tiny XDP object with the same flags and headers the lessons use."""
    if shutil.which("clang") is None:
        return Check("clang", False, "clang not found on PATH", "apt-get install clang llvm")
    from xdp_tui.engine.build import build

    source = workdir / "doctor_pass.c"
    source.write_text(TINY_XDP_PROGRAM)
    result = build(source)
    if not result.ok:
        first = result.diagnostics[0].message if result.diagnostics else result.raw.strip()[-200:]
        return Check(
            "clang",
            False,
            f"building a BPF object failed: {first}",
            "apt-get install clang llvm libbpf-dev",
        )
    from xdp_tui.engine.build import bpf_cpu

    version = subprocess.run(["clang", "--version"], capture_output=True, text=True).stdout.split(
        "\n"
    )[0]
    return Check(
        "clang",
        True,
        f"{version}; built a BPF object with our include paths; BPF target CPU "
        f"-mcpu={bpf_cpu()} (the newest this kernel runs)",
    )


def check_glibc_headers() -> Check:
    """glibc's headers under the BPF target want gnu/stubs-32.h (it is not x86_64).

    The tutorial's helpers reach them through <linux/icmp.h>; without the
    32-bit stubs every such build stops with "'gnu/stubs-32.h' file not found".
    """
    from xdp_tui.engine.build import multiarch_include_dir

    folder = multiarch_include_dir()
    stubs = folder / "gnu" / "stubs.h" if folder is not None else None
    if stubs is None or not stubs.exists():
        return Check("glibc_headers", True, "no glibc multiarch headers to check")
    needed = stubs.with_name("stubs-32.h")
    if needed.exists():
        return Check("glibc_headers", True, f"{needed} present (glibc headers work in BPF builds)")
    return Check(
        "glibc_headers",
        False,
        f"{needed} missing: BPF programs that include glibc headers (e.g. via <linux/icmp.h>) "
        "do not build",
        "apt-get install libc6-dev-i386",
    )


def check_libbpf() -> Check:
    try:
        lib = ctypes.CDLL("libbpf.so.1")
    except OSError:
        return Check("libbpf", False, "libbpf.so.1 not found", "apt-get install libbpf1")
    lib.libbpf_version_string.restype = ctypes.c_char_p
    version = lib.libbpf_version_string().decode()
    return Check("libbpf", True, f"libbpf.so.1 {version}")


def check_bcc() -> Check:
    try:
        with quiet_fd2():
            from bcc import BPF  # Debian's python3-bpfcc
    except ImportError:
        return Check(
            "bcc",
            False,
            "python module bcc not importable (the PyPI package named bcc is something else)",
            "apt-get install python3-bpfcc, and use a venv with --system-site-packages (./setup.sh does)",
        )
    captured: list[str] = []
    try:
        with quiet_fd2() as captured:
            program = BPF(text=TINY_TRACEPOINT)
            program.cleanup()
    except Exception as exc:  # noqa: BLE001 - bcc raises bare Exception on compile failure
        tail = "".join(captured).strip().splitlines()[-1:] or [str(exc)]
        return Check(
            "bcc",
            False,
            f"bcc cannot compile a tracepoint program: {tail[0]}",
            f"kernel headers for bcc: {SETUP_FIX}",
        )
    finally:
        from xdp_tui.engine import _lib

        _lib.install_print_callback()  # bcc resets libbpf's print callback
    return Check("bcc", True, f"bcc {_version('bcc')} compiled a tracepoint program")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        try:
            return str(__import__(package).__version__)
        except Exception:  # noqa: BLE001
            return "?"


def check_python_packages() -> Check:
    versions = {name: _version(name) for name in ("textual", "rich", "pyroute2")}
    ok = all(v != "?" for v in versions.values())
    detail = ", ".join(f"{name} {version}" for name, version in versions.items())
    return Check("python", ok, detail, "" if ok else SETUP_FIX)


def check_native_xdp(workdir: Path) -> Check:
    """Attach XDP_PASS in native mode on a throw-away veth pair, then remove it."""
    from pyroute2 import IPRoute

    from xdp_tui.engine.attach import attach
    from xdp_tui.engine.build import build
    from xdp_tui.engine.libbpf import BpfObject

    source = workdir / "doctor_native.c"
    source.write_text(TINY_XDP_PROGRAM)
    result = build(source)
    if not result.ok:
        return Check(
            "native_xdp",
            False,
            "could not build the trial program (see clang)",
            "apt-get install clang",
        )
    name = f"xdpdoc{os.getpid() % 100000}"
    with IPRoute() as ipr:
        try:
            ipr.link("add", ifname=name, kind="veth", peer={"ifname": name + "p"})
            index = ipr.link_lookup(ifname=name)[0]
            ipr.link("set", index=index, state="up")
            with BpfObject.open(result.obj) as obj:
                obj.load("doctor_pass")
                attachment = attach(name, obj.program_fd("doctor_pass"), "native", force=True)
                mode = getattr(attachment, "mode", "native")
                attachment.close()
            return Check("native_xdp", True, f"attached XDP in {mode} mode on a trial veth pair")
        except Exception as exc:  # noqa: BLE001 - any failure here is the finding
            return Check(
                "native_xdp",
                False,
                f"native XDP on veth failed: {exc}",
                "use generic mode (--mode skb)",
            )
        finally:
            for index in ipr.link_lookup(ifname=name):
                ipr.link("del", index=index)


def check_memlock() -> Check:
    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    unlimited = soft == resource.RLIM_INFINITY
    release = tuple(int(p) for p in platform.release().split("-")[0].split(".")[:2])
    # From 5.11 BPF memory is charged to the memory cgroup, not RLIMIT_MEMLOCK.
    ok = unlimited or release >= (5, 11)
    shown = "unlimited" if unlimited else f"{soft // 1024} KiB"
    note = "" if unlimited or not ok else " (not used: kernel charges BPF memory to cgroups)"
    return Check(
        "memlock", ok, f"RLIMIT_MEMLOCK {shown}{note}", "" if ok else "ulimit -l unlimited"
    )


def check_af_xdp() -> Check:
    """AF_XDP sockets (advanced03): the kernel must have CONFIG_XDP_SOCKETS."""
    from xdp_tui.engine.afxdp import open_xdp_socket
    from xdp_tui.errors import XdpTuiError

    try:
        open_xdp_socket().close()
    except XdpTuiError as exc:
        return Check("af_xdp", False, exc.message, exc.hint or "")
    return Check("af_xdp", True, "an AF_XDP socket opens (advanced03-AF_XDP)")


def run_checks() -> list[Check]:
    with tempfile.TemporaryDirectory(prefix="xdp-tui-doctor-") as tmp:
        workdir = Path(tmp)
        checks: list[tuple[str, Callable[[], Check]]] = [
            ("root", check_root),
            ("kernel", check_kernel),
            ("bpf_jit", check_jit),
            ("btf", check_btf),
            ("bpffs", check_bpffs),
            ("tracefs", check_tracefs),
            ("clang", lambda: check_clang(workdir)),
            ("glibc_headers", check_glibc_headers),
            ("libbpf", check_libbpf),
            ("bcc", check_bcc),
            ("python", check_python_packages),
            ("memlock", check_memlock),
        ]
        if os.geteuid() == 0:
            checks.append(("native_xdp", lambda: check_native_xdp(workdir)))
            checks.append(("af_xdp", check_af_xdp))
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(_guarded, name, fn) for name, fn in checks]
            return [future.result() for future in futures]


def _guarded(name: str, fn: Callable[[], Check]) -> Check:
    """A check that crashes is a failed check, not a crashed doctor."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        return Check(name, False, f"check crashed: {exc}", SETUP_FIX)


def report(checks: list[Check]) -> dict[str, object]:
    return {"ok": all(check.ok for check in checks), "checks": [asdict(check) for check in checks]}
