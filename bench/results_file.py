"""Where each benchmark keeps its figures: bench/results/<name>.json, in git."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def results_path(name: str) -> Path:
    return RESULTS_DIR / f"{name}.json"


def save_results(name: str, result: dict[str, Any]) -> Path:
    """Write RESULT as bench/results/NAME.json (indented, one trailing newline)."""
    path = results_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
