"""Cold start: fresh processes that import `app` and serve requests with AWS stubbed.

The figure is a fresh process serving one `GET /api/account` with the API key, against a
fresh process that only imports botocore.session and builds a DynamoDB client (the floor
PynamoDB imposes): wall time measured around the process, CPU time from the children's
rusage, medians of RUNS, floor and app runs interleaved. Each process is
bench/cold_child.py; it answers AWS from the exchanges bench/calls.py captured against the
emulator moments before, so it measures the code as it is now. Every login path also runs
once in a fresh process, to see which modules and clients it loads.

A passkey sign-in (`POST /api/login/passkey`) has a cold start figure of its own, measured
the same way in the same interleaved runs: it is the first request a container may serve,
and it loads fido2 and cryptography, which no other login path does.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.support import PYTHON, REPO, Figure, check, median

GROUP = "cold_start"
RUNS = 7
CHILD = REPO / "bench" / "cold_child.py"
COLD_RATIO = 1.2
PASSKEY_COLD_RATIO = 1.5  # fido2 and cryptography (OpenSSL's bindings) are loaded on this path
MODULES_AFTER_IMPORT = 150
MODULES_AFTER_LOGIN = 400
MODULES_ON_KEY_PATH = 460
LOGIN_SCENARIOS = ("password login", "authenticator login", "recovery code login", "SMS login")
KEY_SCENARIOS = ("security key login", "passkey login")
NOT_ON_ANY_LOGIN = ("boto3", "segno", "phonenumbers")
NOT_ON_LOGIN = (*NOT_ON_ANY_LOGIN, "cryptography", "fido2")  # fido2 only where keys are used


def child_env(outputs: dict[str, str]) -> dict[str, str]:
    """Lambda's environment as far as the app can tell: a deployed stage, credentials in the
    environment, the function's name (the runtime sets it; chalicelib/warmup.py reads it), no
    emulator (nothing is sent anyway: the child's AWS is stubbed)."""
    from chalicelib import aws
    from local.stack import REMOVED_ENV

    env = {k: v for k, v in os.environ.items() if k not in REMOVED_ENV and not k.startswith(("TWOSTEP_", "AWS_"))}
    env.update(outputs)
    env.update(PYTHONPATH=str(REPO), TWOSTEP_STAGE="dev", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
               AWS_LAMBDA_FUNCTION_NAME="twostep-bench",
               **{name.upper(): value for name, value in aws.LOCAL_CREDENTIALS.items()})
    return env


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([PYTHON, str(CHILD), *args], cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"cold start child {args[0]} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # the harness's own work in the child (reading the plan, counting modules) is not the app's
    result["process_wall"] = wall - result.get("harness_wall", 0.0)
    result["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) \
        - result.get("harness_cpu", 0.0)
    return result


def write_plan(directory: Path, name: str, plan: dict[str, Any], secret: str | None,
               assertion: tuple[Any, dict[str, Any], str] | None = None) -> Path:
    """The scenario as the child reads it; an authenticator code is made fresh at launch,
    and so is a WebAuthn assertion: `assertion` is (the software authenticator, the request
    options it answered, the body's field), signed here so that the child imports nothing
    of the tests. The assertion answers the challenge the captured exchanges hold, with the
    key's counter moved on, so each run verifies a signature of its own. The passkey token
    stays the captured one: the stub answers every run with its challenge item as it was
    before the sign-in (unspent, its hash that token's), as the real table would have."""
    if secret or assertion:
        plan = json.loads(json.dumps(plan))
        for event in plan["events"]:
            body = json.loads(event["body"] or "{}")
            if secret and "code" in body:
                from tests import rfc6238

                body["code"] = rfc6238.totp(secret)
            elif assertion and assertion[2] in body:
                key, options, field = assertion
                body[field] = key.get(options)
            else:
                continue
            event["body"] = json.dumps(body)
    path = directory / (name.replace(" ", "-") + ".json")
    path.write_text(json.dumps(plan))
    return path


def _statuses_ok(result: dict[str, Any]) -> bool:
    return all(step.get("status", 200) < 400 for step in result["steps"])


def compile_app() -> None:
    """Bytecode for the app's own modules, as the Lambda package ships it (infra/package.py);
    the libraries have theirs from pip. With PYTHONDONTWRITEBYTECODE set (this machine sets
    it) they would otherwise be compiled from source in every child, which no deployed
    cold start does. Timestamped .pyc files: whatever source is there now is what runs."""
    import compileall

    compileall.compile_file(REPO / "app.py", quiet=2)
    compileall.compile_dir(REPO / "chalicelib", quiet=2)


def _collector_figure(floors: list[dict], unheld: list[dict]) -> Figure:
    """What chalicelib/warmup.py buys: the same cold start with the collector running
    throughout (as off Lambda)."""
    app_ms, floor_ms = median([r["process_wall"] for r in unheld]) * 1000, median([r["process_wall"] for r in floors]) * 1000
    return Figure(GROUP, "cold start, wall, collector not held (as off Lambda; for comparison)",
                  f"{app_ms:.0f} ms vs floor {floor_ms:.0f} ms = {app_ms / floor_ms:.2f}x",
                  data={"app_ms": app_ms, "floor_ms": floor_ms, "ratio": app_ms / floor_ms, "runs": len(unheld)})


def _cold_figures(floors: list[dict], apps: list[dict], title: str = "GET /api/account (API key)",
                  limit: float = COLD_RATIO) -> list[Figure]:
    figures = []
    for label, key in (("wall", "process_wall"), ("CPU", "process_cpu")):
        app_ms, floor_ms = median([r[key] for r in apps]) * 1000, median([r[key] for r in floors]) * 1000
        ratio = app_ms / floor_ms
        inside = median([r["steps"][0]["seconds"] + r["steps"][1]["seconds"] for r in apps]) * 1000
        detail = f"; import app + request {inside:.0f} ms" if label == "wall" else ""
        fig = Figure(GROUP, f"cold start: {title}, {label}",
                     f"{app_ms:.0f} ms vs floor {floor_ms:.0f} ms = {ratio:.2f}x{detail}",
                     budget=f"<= {limit}x floor",
                     data={"app_ms": app_ms, "floor_ms": floor_ms, "ratio": ratio, "runs": len(apps),
                           "statuses": [r["steps"][-1].get("status") for r in apps]})
        check(fig, all(_statuses_ok(r) for r in apps),
              f"the replay did not succeed: statuses {sorted({r['steps'][-1].get('status') for r in apps})}")
        figures.append(check(fig, ratio <= limit, f"{ratio:.2f}x the floor, {ratio / limit - 1:.0%} over {limit}x"))
    return figures


def _module_figures(name: str, result: dict[str, Any]) -> list[Figure]:
    steps = result["steps"]
    figures = []
    if name == "account":
        count = len(steps[0]["modules"])
        fig = Figure(GROUP, "modules after `import app` (beyond a bare interpreter)", str(count),
                     budget=f"<= {MODULES_AFTER_IMPORT}", data={"modules": count})
        figures.append(check(fig, count <= MODULES_AFTER_IMPORT, f"{count - MODULES_AFTER_IMPORT} over"))
    counts = " -> ".join(f"{len(s['modules'])}" for s in steps[1:])
    paths = ", ".join(s["step"] for s in steps[1:])
    fig = Figure(GROUP, f"modules after the first request: {name}", f"{counts} ({paths}); clients {steps[-1]['clients']}",
                 data={"steps": [{"step": s["step"], "status": s.get("status"), "modules": len(s["modules"]),
                                  "clients": s.get("clients"), "ms": s["seconds"] * 1000} for s in steps],
                       "unplanned_writes": result["unplanned"]})
    check(fig, _statuses_ok(result), f"the replay did not succeed: statuses {[s.get('status') for s in steps[1:]]}")
    # every path reads DynamoDB: a census that cannot see that client cannot see an SNS one
    check(fig, "dynamodb" in steps[-1]["clients"], "the census found no DynamoDB client, so it cannot vouch for SNS")
    if result["unplanned"]:
        fig.value += f"; writes not in the capture, answered empty: {result['unplanned']}"
    if name in LOGIN_SCENARIOS or name in KEY_SCENARIOS:
        limit, banned = (MODULES_AFTER_LOGIN, NOT_ON_LOGIN) if name in LOGIN_SCENARIOS \
            else (MODULES_ON_KEY_PATH, NOT_ON_ANY_LOGIN)
        budgets = [f"<= {limit}", f"no {', '.join(banned)}", "no SNS client before an SMS is sent"]
        most = max(len(s["modules"]) for s in steps[1:])
        check(fig, most <= limit, f"{most} modules, {most - limit} over")
        loaded = sorted({m.split(".")[0] for s in steps[1:] for m in s["modules"]} & set(banned))
        check(fig, not loaded, f"imports {', '.join(loaded)}")
        sns_before_send = [s["step"] for s in steps[1:] if "sns" in s["clients"] and not _sent_sms(steps, s)]
        check(fig, not sns_before_send, f"SNS client created by {sns_before_send}")
        fig.budget = "; ".join(budgets)
    return figures + [fig]


def _sent_sms(steps: list[dict], step: dict) -> bool:
    """Whether the login code was texted at or before `step`."""
    upto = steps[1:steps.index(step) + 1]
    return any(s["step"] == "/api/login/sms" for s in upto)


def measure(replay: dict[str, Any]) -> list[Figure]:
    env = child_env(replay["env"])
    unheld_env = {k: v for k, v in env.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    scenarios, secrets, assertions = replay["scenarios"], replay["totp_secrets"], replay.get("assertions", {})
    compile_app()
    with tempfile.TemporaryDirectory(prefix="twostep-bench-") as tmp:
        directory = Path(tmp)
        floors, apps, unheld, passkeys = [], [], [], []
        for _ in range(RUNS):
            floors.append(run_child(["floor"], env))
            plan = write_plan(directory, "account", scenarios["account"], None)
            apps.append(run_child(["app", str(plan)], env))
            unheld.append(run_child(["app", str(plan)], unheld_env))
            plan = write_plan(directory, "passkey sign-in", scenarios["passkey sign-in"], None,
                              assertions["passkey sign-in"])
            passkeys.append(run_child(["app", str(plan)], env))
        figures = _cold_figures(floors, apps) + [_collector_figure(floors, unheld)]
        figures.extend(_cold_figures(floors, passkeys, "passkey sign-in, POST /api/login/passkey", PASSKEY_COLD_RATIO))
        figures.extend(_module_figures("account", apps[-1]))
        for name in LOGIN_SCENARIOS + KEY_SCENARIOS:
            plan = write_plan(directory, name, scenarios[name], secrets.get(name), assertions.get(name))
            figures.extend(_module_figures(name, run_child(["app", str(plan)], env)))
    return figures
