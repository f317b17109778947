"""The packaged stage (infra/package.py), built once per test process into a private
temporary directory (other runs may be using build/), and the template loader."""
from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=None)
def packaged(stage: str = "prod") -> Path:
    """Run `python infra/package.py <stage> <tmp>` (as `make package` does); the stage dir."""
    root = Path(tempfile.mkdtemp(prefix="twostep-package-"))
    done = subprocess.run(
        [sys.executable, str(REPO / "infra" / "package.py"), stage, str(root)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    return root / stage


def load_template(path: Path) -> dict[str, Any]:
    """A CloudFormation template, short-form tags in long form (as Chalice reads them)."""
    from chalice.package import YAMLTemplateSerializer

    return YAMLTemplateSerializer().load_template(path.read_text(), str(path))


@functools.lru_cache(maxsize=None)
def packaged_template(stage: str = "prod") -> dict[str, Any]:
    return load_template(packaged(stage) / "sam.yaml")
