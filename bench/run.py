"""`make bench` / `python -m bench`: every figure in one table, JSON beside it, budgets checked.

    .venv/bin/python -m bench                      # everything (about 2 minutes)
    .venv/bin/python -m bench --only calls,sizes   # some groups: calls, cold_start, sizes, load
    .venv/bin/python -m bench --skip-package       # reuse build/dev/deployment.zip

Exits 1, naming each budget that failed and by how much, when any is exceeded.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from bench.support import REPO, Figure

GROUPS = ("calls", "cold_start", "sizes", "load")
JSON_PATH = REPO / "test-artifacts" / "bench.json"


def measure(groups: list[str], skip_package: bool, load_seconds: float) -> list[Figure]:
    figures: list[Figure] = []
    replay = None
    if "calls" in groups or "cold_start" in groups:
        from bench import calls

        found = guarded("calls", calls.measure)
        if isinstance(found, tuple):
            found, replay = found  # the cold start replays what this captured
        figures += found if "calls" in groups else []
    if "cold_start" in groups:
        from bench import cold_start

        if replay is None:
            figures += [unmeasured("cold_start", "the calls group failed, so there is nothing to replay")]
        else:
            figures += guarded("cold_start", cold_start.measure, replay)
    if "sizes" in groups:
        from bench import sizes

        figures += guarded("sizes", sizes.measure, skip_package)
    if "load" in groups:
        from bench import load

        figures += guarded("load", load.measure, load_seconds)
    return figures


def unmeasured(group: str, why: str) -> Figure:
    return Figure(group, f"{group}: not measured", why, budget="measurable", ok=False, failure=why)


def guarded(group: str, fn: Callable[..., Any], *args: Any) -> Any:
    """A group that cannot run (the app failing a flow, say) is one failed figure, not a crash."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - reported as a failed budget, with its traceback
        traceback.print_exc()
        return [unmeasured(group, f"{type(exc).__name__}: {exc}"[:500])]


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "budget", "result", "repeat with")]
    for fig in figures:
        result = "-" if fig.ok is None else ("ok" if fig.ok else "FAIL")
        rows.append((fig.name, fig.value, fig.budget or "-", result, fig.command))
    lines = ["| " + " | ".join(cells) + " |" for cells in rows]
    lines.insert(1, "|" + "|".join("---" for _ in rows[0]) + "|")
    return "\n".join(lines)


def write_json(path: Path, figures: list[Figure], seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {platform.node()}",
        "seconds": seconds,
        "figures": [{"group": f.group, "name": f.name, "value": f.value, "budget": f.budget, "ok": f.ok,
                     "failure": f.failure, "command": f.command, "data": f.data} for f in figures],
    }, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {', '.join(GROUPS)}")
    parser.add_argument("--skip-package", action="store_true", help="reuse build/dev/deployment.zip")
    parser.add_argument("--load-seconds", type=float, default=20.0, help="how long the load check runs")
    parser.add_argument("--json", type=Path, default=JSON_PATH, help="where the JSON goes")
    args = parser.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown groups {unknown}; choose from {', '.join(GROUPS)}")

    started = time.monotonic()
    figures = measure(groups, args.skip_package, args.load_seconds)
    seconds = time.monotonic() - started
    print(table(figures))
    write_json(args.json, figures, seconds)
    print(f"\n{len(figures)} figures in {seconds:.0f} s; JSON: {args.json}")
    failed = [f for f in figures if f.ok is False]
    if failed:
        print(f"\nBUDGETS FAILED ({len(failed)}):", file=sys.stderr)
        for fig in failed:
            print(f"  FAIL {fig.name}: {fig.failure} (budget: {fig.budget})", file=sys.stderr)
        return 1
    print("every budget met")
    return 0
