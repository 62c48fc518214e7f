"""`xdp-tui lessons`, `check`, `progress`, `workspace`: the workshop from the command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from xdp_tui.cli.output import add_command, positive_int, print_json
from xdp_tui.errors import XdpTuiError


def register(sub: Any) -> None:
    parser = add_command(
        sub, "lessons", _lessons, help="list the lessons and their assignments", needs_root=False
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")

    parser = add_command(
        sub,
        "check",
        _check,
        help="check a lesson's assignments on your workspace (or the solution)",
    )
    parser.add_argument("lesson", help="lesson id, e.g. basic03-map-counter")
    parser.add_argument("assignment", nargs="?", default=None, help="one assignment (default: all)")
    parser.add_argument(
        "--solution", action="store_true", help="check the shipped solution instead"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")

    parser = add_command(
        sub,
        "progress",
        _progress,
        help="which assignments this user (or, with --all-users, everyone) has passed",
        needs_root=False,
    )
    parser.add_argument(
        "--all-users",
        action="store_true",
        help="the instructor's view: every user of this machine with progress (root only)",
    )
    parser.add_argument(
        "--user",
        default=None,
        help="with --all-users: only this user, with their last check output in full",
    )
    parser.add_argument(
        "--diff",
        metavar="LESSON",
        nargs="?",
        const="",
        default=None,
        help="with --user: their workspace's diff against the solution (default: current lesson)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")

    parser = add_command(
        sub,
        "hint",
        _hint,
        help="the next hint for an assignment (each call goes one level further, then the"
        " assignment's part of the solution)",
        needs_root=False,
    )
    parser.add_argument("lesson", help="lesson id")
    parser.add_argument("assignment", help="assignment id, e.g. 1")
    parser.add_argument(
        "--level", type=positive_int, default=None, help="show this level (1 = gentlest) instead"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")

    parser = add_command(
        sub,
        "diff",
        _diff,
        help="your workspace file against the lesson's solution (unified diff)",
        needs_root=False,
    )
    parser.add_argument("lesson", help="lesson id")

    parser = add_command(
        sub,
        "workspace",
        _workspace,
        help="print the path of your editable copy of a lesson's program",
        needs_root=False,
    )
    parser.add_argument("lesson", help="lesson id")
    parser.add_argument(
        "--reset", action="store_true", help="throw your edits away and start from the starter"
    )


def _lessons(args: argparse.Namespace) -> int:
    from xdp_tui.lessons import Progress, load_catalog

    lessons, problems = load_catalog()
    for problem in problems:  # the other lessons are still listed
        print(f"xdp-tui: skipped a lesson: {problem.render()}", file=sys.stderr)
    if args.json:
        print_json(
            [
                {
                    "id": lesson.id,
                    "title": lesson.title,
                    "assignments": [{"id": a.id, "title": a.title} for a in lesson.assignments],
                }
                for lesson in lessons
            ]
        )
        return 0
    from xdp_tui.journey import lesson_progress

    progress = Progress.load()
    for lesson in lessons:
        states = lesson_progress(lesson, progress)
        print(f"{lesson.id:<24} {lesson.title} ({states.done}/{states.total})")
        for item in states.assignments:
            # x: passed (at least once); !: the last check failed; blank: not tried
            mark = "x" if item.ever_passed else ("!" if item.state == "failing" else " ")
            print(f"    [{mark}] {item.id}. {item.title}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from xdp_tui.checks import run_checks
    from xdp_tui.engine.build import one_shot_builds
    from xdp_tui.lessons import get_lesson
    from xdp_tui.stderr import quiet_fd2

    lesson = get_lesson(args.lesson)
    if args.assignment is not None:
        lesson.assignment(args.assignment)  # unknown id: a clear error before any work
    # One-shot command: no clang started for a next build; clang, libbpf and bcc write to fd 2.
    with one_shot_builds(), quiet_fd2():
        results = run_checks(lesson, args.assignment, solution=args.solution)
    all_passed = bool(results) and all(r.passed for r in results)
    if args.json:
        print_json({"lesson": lesson.id, "results": [r.to_dict() for r in results]})
    else:
        for result in results:
            verdict = "PASS" if result.passed else "FAIL"
            print(f"{verdict}  {lesson.id} assignment {result.assignment}: {result.detail}")
            if not result.passed and result.hint:
                print(f"      hint: {result.hint}")
    return 0 if all_passed else 1


def _hostname() -> str:
    """socket.gethostname() (on Linux the uname node name), without importing socket:
    the room runs `progress --all-users --json` on every host every few seconds."""
    return os.uname().nodename


def _progress(args: argparse.Namespace) -> int:
    from xdp_tui.lessons import Progress, catalog

    if args.all_users:
        return _all_users_progress(args)
    if args.user is not None or args.diff is not None:
        raise XdpTuiError(
            "--user and --diff go with --all-users",
            hint="sudo xdp-tui progress --all-users --user NAME --diff",
        )
    progress = Progress.load()
    summary = progress.summary(catalog())
    if progress.problem:
        print(f"xdp-tui: {progress.problem} (set aside at the next check)", file=sys.stderr)
    if args.json:
        print_json(
            {
                "hostname": _hostname(),
                "file": str(progress.path),
                "lessons": summary,
                "problem": progress.problem,
            }
            | progress.activity()
        )
        return 0
    for row in summary:
        print(f"{row['lesson']:<24} {len(row['passed'])}/{row['total']} passed")
    return 0


def _all_users_progress(args: argparse.Namespace) -> int:
    import time

    from xdp_tui.lessons import catalog, users_progress_report

    if os.geteuid() != 0:
        raise XdpTuiError(
            "reading every user's progress needs root", hint="sudo xdp-tui progress --all-users"
        )
    if args.user is not None:
        return _one_user_detail(args)
    if args.diff is not None:  # was silently ignored: the instructor saw no diff, no reason
        raise XdpTuiError(
            "--diff shows one learner's workspace: name them with --user",
            hint="sudo xdp-tui progress --all-users --user NAME --diff",
        )
    lessons = catalog()
    total = sum(len(lesson.assignments) for lesson in lessons)
    users: list[dict[str, Any]] = []
    skipped = []
    for found in users_progress_report():
        if found.progress is None:
            skipped.append({"user": found.user, "file": str(found.path), "error": found.problem})
            print(f"xdp-tui: skipped {found.user}: {found.problem}", file=sys.stderr)
            continue
        user, progress = found.user, found.progress
        summary = progress.summary(lessons)
        users.append(
            {
                "user": user,
                "file": str(progress.path),
                "passed": sum(len(row["passed"]) for row in summary),
                "total": total,
                "last_checked": progress.last_checked(),
                "lessons": summary,
            }
            | progress.activity()
        )
    if args.json:
        print_json({"hostname": _hostname(), "users": users, "skipped": skipped})
        return 0
    if not users and not skipped:
        print("nobody on this machine has checked an assignment yet")
    for row in users:
        when = row["last_checked"]
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(when)) if when else "never"
        print(f"{row['user']:<16} {row['passed']:>3}/{row['total']} passed   last check {stamp}")
    return 0


def _one_user_detail(args: argparse.Namespace) -> int:
    """One learner for the instructor: last check in full and, asked, their diff."""
    from xdp_tui.lessons import HOME_PROGRESS, Progress, get_lesson, machine_homes

    homes = dict(machine_homes())
    if args.user not in homes:
        raise XdpTuiError(f"no user {args.user!r} on this machine", location=_hostname())
    home = homes[args.user]
    activity = Progress.load(home / HOME_PROGRESS).activity()
    lesson_id = args.diff or activity["current_lesson"]
    diff = ""
    if args.diff is not None and lesson_id:
        diff = _workspace_diff(get_lesson(lesson_id), home)
    detail = {
        "hostname": _hostname(),
        "user": args.user,
        "lesson": lesson_id,
        "diff": diff,
    }
    if args.json:
        print_json(detail | activity)
        return 0
    check = activity["last_check"]
    if check:
        verdict = "PASS" if check["passed"] else "FAIL"
        print(f"{verdict}  {check['lesson']} assignment {check['assignment']}: {check['detail']}")
    else:
        print(f"{args.user} has not run a check yet")
    if diff:
        print(diff, end="")
    return 0


# A learner's source read for the instructor: a larger file is not read.
_HOME_SOURCE_LIMIT = 256 * 1024


def _workspace_diff(lesson: Any, home: Path) -> str:
    """The learner's workspace copy under HOME against the solution, as they see it themselves."""
    from xdp_tui import userfiles
    from xdp_tui.journey import solution_diff
    from xdp_tui.lessons import HOME_PROGRESS

    path = home / HOME_PROGRESS.parent / "workspace" / lesson.id / lesson.source_name
    try:  # as the home's owner, and never through a link below the home
        owner = userfiles.owner_of(home)
        text = userfiles.read_text(path, _HOME_SOURCE_LIMIT, owner=owner, below=home)
    except (XdpTuiError, OSError):
        return ""
    found = solution_diff(lesson, Path(lesson.source_name), text=text)
    return "".join(line.text + "\n" for line in found.lines)


def _workspace(args: argparse.Namespace) -> int:
    from xdp_tui.lessons import get_lesson, reset_workspace, workspace_source

    lesson = get_lesson(args.lesson)
    path = reset_workspace(lesson) if args.reset else workspace_source(lesson)
    print(path)
    return 0


def _hint(args: argparse.Namespace) -> int:
    from xdp_tui.journey import help_step, next_help
    from xdp_tui.lessons import get_lesson

    lesson = get_lesson(args.lesson)
    if args.level is None:
        step = next_help(lesson, args.assignment)
    else:
        step = help_step(lesson, args.assignment, args.level)
    if args.json:
        print_json(
            {
                "lesson": lesson.id,
                "assignment": step.assignment_id,
                "level": step.level,
                "levels": step.levels,
                "is_solution": step.is_solution,
                "text": step.text,
            }
        )
        return 0
    if step.is_solution:
        print(f"{lesson.id} assignment {step.assignment_id}: the solution's part")
        print(step.text, end="")
    else:
        print(f"hint {step.level} of {step.levels}: {step.text}")
    return 0


def _diff(args: argparse.Namespace) -> int:
    from xdp_tui.journey import solution_diff
    from xdp_tui.lessons import get_lesson

    diff = solution_diff(get_lesson(args.lesson))
    if diff.identical:
        print("your file is the solution")
    else:
        print(diff.text, end="")
    return 0
