"""Checks for the playground: the learner's own saved packet cases.

The packet workbench keeps frames as named cases in packet-cases.json
beside the learner's program (engine/testrun). A case whose name starts
with a verdict ("drop: UDP to port 9", "pass: pings") is a test: we run
the program on its frame (BPF_PROG_TEST_RUN, a private copy; no lab
needed) and want that verdict. Cases named otherwise are only shown in the
workbench. With no test case at all the check fails and says how to add
one: an empty playground proves nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from xdp_tui.checks import CheckContext, CheckResult
from xdp_tui.engine.actions import XDP_ACTIONS
from xdp_tui.engine.packetspec import frame_from_spec
from xdp_tui.engine.testrun import SavedCase, TestRunner, cases_path, load_cases
from xdp_tui.errors import XdpTuiError

PROGRAM = "xdp_playground_func"
_VERDICT_PREFIX = re.compile(r"^\s*(aborted|drop|pass|tx|redirect)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class CaseResult:
    case: SavedCase
    expected: str
    got: str

    @property
    def passed(self) -> bool:
        return self.got == self.expected


def expected_verdict(case: SavedCase) -> str | None:
    """ "XDP_DROP" for a case named "drop: ...", None for a case that is no test."""
    match = _VERDICT_PREFIX.match(case.name)
    if match is None:
        return None
    verdict = f"XDP_{match[1].upper()}"
    return verdict if verdict in XDP_ACTIONS else None


def _run_case(runner: TestRunner, case: SavedCase, expected: str, base: Path) -> CaseResult:
    try:
        got = runner.run(frame_from_spec(case.spec, base=base)).verdict_name
    except XdpTuiError as exc:
        got = f"error: {exc.message}"
    return CaseResult(case, expected, got)


def check_saved_cases(ctx: CheckContext) -> CheckResult:
    path = cases_path(ctx.source)
    tests = [(case, v) for case in load_cases(path) if (v := expected_verdict(case))]
    if not tests:
        ctx.fail(
            f"no saved case names a verdict yet ({path}): in the Run frame tab (key 8) type a"
            " frame, name it 'drop: ...' or 'pass: ...' (the verdict you want) and keep it"
            " with ctrl+t"
        )
    with TestRunner.open(ctx.obj, program=PROGRAM) as runner:
        results = [_run_case(runner, case, v, path.parent) for case, v in tests]
    failed = [r for r in results if not r.passed]
    if failed:
        ctx.fail(
            f"{len(failed)} of {len(results)} cases gave another verdict: "
            + "; ".join(f"'{r.case.name}' ({r.case.spec}) gave {r.got}" for r in failed[:3])
        )
    return ctx.passed(
        f"all {len(results)} saved cases give their verdict: "
        + "; ".join(f"{r.case.name} ✓" for r in results[:4])
        + (" …" if len(results) > 4 else "")
    )
