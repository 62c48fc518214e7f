"""A real unprivileged login user for tests of root acting for a learner.

`login_user()` creates one (useradd) with its home in a world-traversable
folder (pytest's tmp folders are root-only, which a learner could not enter)
and removes the user and the home afterwards, even when the test failed.
`sudo_env()` makes this process look started by that user through sudo.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_counter = itertools.count(1)


@dataclass(frozen=True)
class LoginUser:
    name: str
    uid: int
    gid: int
    home: Path

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """ARGV run as this user (to plant files as the attacker would)."""
        command = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]
        return subprocess.run([*command, "--", *argv], capture_output=True, text=True, check=True)


@contextlib.contextmanager
def login_user() -> Iterator[LoginUser]:
    name = f"xtu{os.getpid() % 100000}{next(_counter)}"
    parent = Path(tempfile.mkdtemp(prefix="xdp-tui-home-"))
    os.chmod(parent, 0o755)
    home = parent / name
    subprocess.run(["useradd", "--home-dir", str(home), "--create-home", name], check=True)
    try:
        entry = pwd.getpwnam(name)
        yield LoginUser(name, entry.pw_uid, entry.pw_gid, home)
    finally:
        # A clang kept warm for the user's next build runs as them: userdel refuses while it lives.
        from xdp_tui.engine.build import discard_warm_compiler

        discard_warm_compiler()
        subprocess.run(["userdel", name], check=False, capture_output=True)
        shutil.rmtree(parent, ignore_errors=True)


@contextlib.contextmanager
def sudo_env(user: LoginUser, data_dir: Path | None = None) -> Iterator[None]:
    """Environment as under `sudo` by USER (data in DATA_DIR, default their home's)."""
    saved = dict(os.environ)
    os.environ.update(SUDO_USER=user.name, SUDO_UID=str(user.uid), SUDO_GID=str(user.gid))
    os.environ["XDP_TUI_DATA_DIR"] = str(data_dir or user.home / ".local/share/xdp-tui")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
