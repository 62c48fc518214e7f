#!/usr/bin/env bash
# One command to set up a Debian 12 machine for xdp-tui, then either start the
# app or run the whole test suite.  Safe to run again: every step checks first
# and stays quiet when there is nothing to do.
#
#   sudo ./setup.sh run  [xdp-tui arguments...]   set up, then start xdp-tui
#   sudo ./setup.sh test [pytest arguments...]    set up, lint (ruff, mypy), then run the tests
#   sudo ./setup.sh install                       set up only
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$REPO/.venv"
MODE="${1:-run}"
[[ $# -gt 0 ]] && shift

say() { echo "setup: $*" >&2; }

if [[ $EUID -ne 0 ]]; then
    echo "setup: must run as root (it installs packages and mounts bpffs); try: sudo $0 $MODE" >&2
    exit 2
fi
case "$MODE" in run|test|install) ;; *)
    echo "usage: $0 run|test|install [args...]" >&2; exit 2 ;;
esac

# Debian packages and why: clang/llvm build BPF objects (llvm-objdump for the
# object view); libbpf1/libbpf-dev load them and give bpf_helpers.h; bpftool and
# xdp-tools are the baselines we compare against; python3-bpfcc is bcc for the
# tracepoint monitor; iproute2/iputils-ping/tcpdump for the lab; tmux for the
# real-terminal test; netsniff-ng (trafgen) is the traffic generator baseline;
# openssh-server (sshd, started by the tests inside namespaces as a room of lab
# VMs) and sudo (lab VMs run `sudo -n xdp-tui`) for the room.
PACKAGES=(clang llvm libbpf1 libbpf-dev bpftool xdp-tools python3-bpfcc python3-venv
          iproute2 iputils-ping tcpdump tmux netsniff-ng openssh-server sudo)
# libc6-dev-i386 (amd64): clang's BPF target is not x86_64, so glibc's headers
# (reached from <linux/icmp.h> and the tutorial's parsing helpers) ask for
# gnu/stubs-32.h, which only this package provides; the tutorial lists it too.
[[ "$(dpkg --print-architecture)" == amd64 ]] && PACKAGES+=(libc6-dev-i386)

APT_UPDATED=0
apt_install() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    say "installing: $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -gt 0 ]] && apt_install "${missing[@]}"
# openssh-server is here for the room tests, which start their own sshd inside
# namespaces: a system sshd that this script brought in (nobody used it before)
# is not left enabled and listening.
if [[ " ${missing[*]:-} " == *" openssh-server "* && -d /run/systemd/system ]]; then
    say "openssh-server installed for the room tests; its system service stays off"
    systemctl disable --now ssh.service >/dev/null 2>&1 || true
fi

# bcc compiles C against the running kernel's headers at run time.
KVER="$(uname -r)"
if [[ ! -e "/lib/modules/$KVER/build/include" ]]; then
    if [[ $APT_UPDATED -eq 0 ]]; then apt-get update -qq; APT_UPDATED=1; fi
    if apt-cache show "linux-headers-$KVER" >/dev/null 2>&1; then
        apt_install "linux-headers-$KVER"
    else
        arch="$(dpkg --print-architecture)"
        say "no linux-headers-$KVER package for this kernel; falling back to the generic"
        say "linux-headers-$arch and linking them as /lib/modules/$KVER/build (enough for bcc's tracepoints)"
        apt_install "linux-headers-$arch"
        hdr="$(ls -d /usr/src/linux-headers-*-"$arch" | sort -V | tail -1)"
        common="${hdr%-"$arch"}-common"
        mkdir -p "/lib/modules/$KVER"
        ln -sfn "$hdr" "/lib/modules/$KVER/build"
        ln -sfn "$common" "/lib/modules/$KVER/source"
    fi
fi

mountpoint -q /sys/fs/bpf || { say "mounting bpffs on /sys/fs/bpf"; mount -t bpf bpf /sys/fs/bpf; }
mountpoint -q /sys/kernel/tracing || { say "mounting tracefs on /sys/kernel/tracing"; mount -t tracefs tracefs /sys/kernel/tracing; }

# A venv from the distro's python3 that sees system site packages, so Debian's
# bcc bindings import next to textual/pyroute2 from PyPI.
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
EXTRAS=""
[[ "$MODE" == "test" ]] && EXTRAS="[test]"
STAMP="$VENV/.installed$EXTRAS"
WANT="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
    say "installing xdp-tui$EXTRAS into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$REPO$EXTRAS" 2>&1 \
        | grep -v "Can't uninstall 'Pygments'" >&2 || true
    "$VENV/bin/python" -c "import xdp_tui" || { say "install failed"; exit 1; }
    echo "$WANT" > "$STAMP"
fi
# Learners type `xdp-tui`; do not overwrite a different program of that name.
if [[ ! -e /usr/local/bin/xdp-tui || "$(readlink /usr/local/bin/xdp-tui)" == "$VENV/bin/xdp-tui" ]]; then
    ln -sfn "$VENV/bin/xdp-tui" /usr/local/bin/xdp-tui
fi

ulimit -l unlimited 2>/dev/null || true
case "$MODE" in
    run) exec "$VENV/bin/xdp-tui" "$@" ;;
    test)
        # Lint and types first: cheap, and a red line here needs no kernel to explain.
        cd "$REPO"
        say "ruff check, ruff format --check, mypy"
        "$VENV/bin/python" -m ruff check --quiet .
        "$VENV/bin/python" -m ruff format --check --quiet .
        "$VENV/bin/python" -m mypy
        exec "$VENV/bin/python" -m pytest "$@" ;;
    install) exit 0 ;;
esac
