"""Sizes and start-up times outside the request path: the Lambda zip and layer, the QR code, the
browser app and the `twostep` CLI."""
from __future__ import annotations

import gzip
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.support import PYTHON, REPO, Figure, check, median

GROUP = "sizes"
ZIP_BUDGET = 1_500_000  # bytes: 1.5 MB, the function (the app's own code)
# The dependencies' layer: room for WebAuthn's fido2 and cryptography (about 5 MB zipped as wheels),
# far under Lambda's 50 MB; what the runtime already has (boto3, botocore) stays out.
LAYER_BUDGET = 8_000_000
# bytes: 80 KB. It was 60 KB (50.6 KB used) before security keys and passkeys: their views
# (the account section, the second step, passkey sign-in and its autofill, the fallback
# conversion for browsers without the Level 3 JSON methods) add about 21 KB, 7 KB gzipped.
FRONTEND_BUDGET = 80_000
CLI_RATIO = 6.0
CLI_RUNS = 15
QR_RUNS = 20
QR_URI = "otpauth://totp/twostep:ada.lovelace%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=twostep"


def lambda_zip(skip_package: bool) -> list[Figure]:
    """`infra/package.py dev` into a scratch directory (build/ is left alone), or, with
    --skip-package, what `make package STAGE=dev` left in build/dev/: the function's zip
    (the app's own code) and its dependencies' layer."""
    with tempfile.TemporaryDirectory(prefix="twostep-bench-package-") as tmp:
        if skip_package:
            out = REPO / "build" / "dev"
            if not (out / "deployment.zip").exists():
                raise RuntimeError("--skip-package: build/dev/deployment.zip is missing (run make package STAGE=dev)")
        else:
            subprocess.run([PYTHON, str(REPO / "infra" / "package.py"), "dev", tmp], cwd=REPO, check=True,
                           stdout=subprocess.DEVNULL)
            out = Path(tmp) / "dev"
        return [_zip_figure(out / "deployment.zip", "Lambda zip (stripped), dev stage: the function", ZIP_BUDGET,
                            skip_package),
                _zip_figure(out / "layer-deployment.zip", "Lambda layer (stripped), dev stage: the dependencies",
                            LAYER_BUDGET, skip_package, prefix="python/lib/python3.11/site-packages/")]


def _zip_figure(path: Path, name: str, budget: int, reused: bool, prefix: str = "") -> Figure:
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        names = [n[len(prefix):] for n in zf.namelist()]
    tops: dict[str, int] = {}
    for entry in names:
        top = entry.split("/", 1)[0]
        tops[top] = tops.get(top, 0) + 1
    fig = Figure(GROUP, name, f"{size / 1e6:.2f} MB ({size} bytes), {len(names)} files",
                 budget=f"<= {budget / 1e6:.1f} MB", data={"bytes": size, "files": len(names), "reused_build": reused,
                                                         "files_per_top_level": dict(sorted(tops.items(),
                                                                                            key=lambda kv: -kv[1]))})
    return check(fig, size <= budget, f"{size - budget} bytes over ({size / budget - 1:.0%})")


def qr_code() -> Figure:
    """qr_svg on a typical URI: warm median in-process, and the first call in a fresh process
    (segno's import included, as the enrolment request pays it)."""
    from chalicelib.factors.totp.qr import qr_svg

    first = subprocess.run(
        [PYTHON, "-c", "import time; from chalicelib.factors.totp.qr import qr_svg; t = time.perf_counter(); "
                       f"qr_svg({QR_URI!r}); print(time.perf_counter() - t)"],
        cwd=REPO, capture_output=True, text=True, check=True)
    first_ms = float(first.stdout.strip()) * 1000
    svg = qr_svg(QR_URI)
    times = []
    for _ in range(QR_RUNS):
        started = time.perf_counter()
        qr_svg(QR_URI)
        times.append((time.perf_counter() - started) * 1000)
    warm = median(times)
    return Figure(GROUP, "QR code SVG (enrolment)",
                  f"{warm:.1f} ms warm, {first_ms:.0f} ms first in process; {len(svg)} bytes "
                  f"({len(gzip.compress(svg.encode()))} gzipped)",
                  data={"warm_ms": warm, "first_ms": first_ms, "bytes": len(svg), "uri": QR_URI})


def frontend() -> Figure:
    files = [p for p in (REPO / "frontend").rglob("*") if p.is_file() and p.suffix in (".html", ".css", ".js")]
    total = sum(p.stat().st_size for p in files)
    zipped = sum(len(gzip.compress(p.read_bytes())) for p in files)
    fig = Figure(GROUP, "browser app (HTML, CSS, JS under frontend/)",
                 f"{total / 1000:.1f} KB in {len(files)} files ({zipped / 1000:.1f} KB gzipped)",
                 budget=f"< {FRONTEND_BUDGET // 1000} KB", data={"bytes": total, "gzipped": zipped, "files": len(files)})
    return check(fig, total < FRONTEND_BUDGET, f"{total - FRONTEND_BUDGET} bytes over")


def _median_run(argv: list[str]) -> float:
    times = []
    for _ in range(CLI_RUNS):
        started = time.perf_counter()
        subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return median(times) * 1000


def cli_start() -> Figure:
    twostep = Path(sys.executable).with_name("twostep")
    bare = _median_run([PYTHON, "-c", "pass"])
    cli = _median_run([str(twostep), "--help"])
    ratio = cli / bare
    fig = Figure(GROUP, "CLI start: twostep --help", f"{cli:.0f} ms vs python -c pass {bare:.0f} ms = {ratio:.1f}x",
                 budget=f"<= {CLI_RATIO:g}x bare Python", data={"cli_ms": cli, "bare_ms": bare, "ratio": ratio})
    return check(fig, ratio <= CLI_RATIO, f"{ratio:.1f}x, {ratio / CLI_RATIO - 1:.0%} over {CLI_RATIO:g}x")


def measure(skip_package: bool = False) -> list[Figure]:
    return [*lambda_zip(skip_package), qr_code(), frontend(), cli_start()]
