"""What the benches' main() functions share: the root check, a lab of their own, the report.

Each bench names its lab after its process id, so two benches (or a bench and
a test run) on the machine at once never cross.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from results_file import save_results  # bench/ is on sys.path when run as a script

if TYPE_CHECKING:
    from xdp_tui.labs import Lab


def lacks_root(message: str) -> bool:
    """True, having printed MESSAGE on stderr, when this process is not root."""
    if os.geteuid() == 0:
        return False
    print(message, file=sys.stderr)
    return True


def lab_name(prefix: str) -> str:
    """PREFIX and this process's id: a lab name no other run uses at the same time."""
    return f"{prefix}{os.getpid() % 100000}"


@contextlib.contextmanager
def own_lab(prefix: str) -> Iterator[Lab]:
    """A lab named lab_name(PREFIX) for the block, torn down however the block ends."""
    import testenv  # here: the caller first chooses XDP_TUI_RUN_DIR, where lab records go

    name = lab_name(prefix)
    lab = testenv.setup(name)
    try:
        yield lab
    finally:
        testenv.teardown(name)


def report(name: str, result: dict[str, Any], *, save: bool = True) -> int:
    """Save RESULT as bench/results/NAME.json (unless not SAVE) and print it: main()'s 0."""
    if save:
        save_results(name, result)
    print(json.dumps(result, indent=2))
    return 0
