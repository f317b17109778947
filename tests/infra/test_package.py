"""`make package`: the function's zip, its dependencies' layer, and the one deployable
template (infra/package.py)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from tests.infra.packaging import REPO, packaged, packaged_template

# Issue 9's budget for the function's package, which is now the app's own code; the
# dependencies are a Lambda layer (Chalice's automatic layer), whose budget leaves room for
# WebAuthn's fido2 and cryptography (about 5 MB zipped as wheels) under Lambda's 50 MB.
MAX_ZIP_BYTES = 1_500_000
MAX_LAYER_BYTES = 8_000_000
RUNTIME = "python3.11"
LAYER_PREFIX = f"python/lib/{RUNTIME}/site-packages/"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
BUILD_ONLY = ("cffi", "pycparser")  # argon2's binding is compiled; only _cffi_backend is loaded
NEVER_IN_THE_ZIP = ("tests/", "frontend/", "local/", "cli/", "bench/", "infra/", "scripts/",
                    ".chalice/", "build/", "test-artifacts/")


@pytest.fixture(scope="module")
def zip_names() -> list[str]:
    with zipfile.ZipFile(packaged("prod") / "deployment.zip") as zf:
        return zf.namelist()


@pytest.fixture(scope="module")
def layer_names() -> list[str]:
    """The layer's files, relative to the site-packages Lambda puts on the path."""
    with zipfile.ZipFile(packaged("prod") / "layer-deployment.zip") as zf:
        names = zf.namelist()
    assert all(n.startswith(LAYER_PREFIX) for n in names), [n for n in names if not n.startswith(LAYER_PREFIX)][:5]
    return [n[len(LAYER_PREFIX):] for n in names]


def test_packaged_template_passes_cfn_lint() -> None:
    # The only warnings cfn-lint would give are switched off, with the reason, in
    # infra/edge.yaml's cfn-lint Metadata: W1028 (Stage is pinned to the packaged stage, so
    # one branch of each !If [IsProd] is unreachable) and, on the distribution only, W1030
    # (CertificateArn defaults to "" when there is no custom domain).
    matches = lint_file(packaged("prod") / "sam.yaml")
    assert [str(m) for m in matches] == []


def test_zip_has_no_aws_sdk_tests_or_front_end(zip_names: list[str], layer_names: list[str]) -> None:
    tops = {name.split("/", 1)[0] for name in layer_names}
    for dist in RUNTIME_PROVIDED + BUILD_ONLY:
        assert dist not in tops and f"{dist}.py" not in tops
        assert not [t for t in tops if re.match(rf"{dist}[-_].*\.dist-info$", t, re.I)], dist
    for names in (zip_names, layer_names):
        assert not [n for n in names if n.startswith(NEVER_IN_THE_ZIP)]
        assert not [n for n in names if re.search(r"(^|/)(test_[^/]*|conftest)\.py$", n)]
        assert not [n for n in names if n.endswith((".html", ".css", ".js"))]
    # The function is the app's own code and Chalice's runtime; the layer holds the rest.
    assert {name.split("/", 1)[0] for name in zip_names} == {"app.py", "__pycache__", "chalice", "chalicelib"}
    assert {"pynamodb", "argon2", "_argon2_cffi_bindings", "pyotp", "segno", "phonenumbers", "idna"} <= tops


@pytest.mark.parametrize("package, prefix", [("deployment.zip", ""), ("layer-deployment.zip", LAYER_PREFIX)])
def test_every_module_but_the_rare_paths_has_unchecked_bytecode_for_the_runtime(package: str, prefix: str) -> None:
    # /var/task and /opt are read-only on Lambda: a module without bytecode is compiled on
    # every cold start.
    import importlib.util

    with zipfile.ZipFile(packaged("prod") / package) as zf:
        names = [n[len(prefix):] for n in zf.namelist()]
        sources = [n for n in names if n.endswith(".py")]
        expected = {importlib.util.cache_from_source(n): n for n in sources
                    if not n.startswith(("phonenumbers/", "segno/", "idna/"))}
        assert {n for n in names if n.endswith(".pyc")} == set(expected)
        wanted = {"app.py", "chalicelib/store/models.py", "chalice/app.py"} if not prefix else {
            "pynamodb/models.py", "argon2/_password_hasher.py", "pyotp/totp.py"}
        assert wanted <= set(expected.values())
        for pyc, source in expected.items():
            data = zf.read(prefix + pyc)
            # PEP 552 header: magic, flags (hash-based, unchecked), the source's hash
            assert data[:4] == importlib.util.MAGIC_NUMBER, pyc
            assert int.from_bytes(data[4:8], "little") == 0b01, pyc
            assert data[8:16] == importlib.util.source_hash(zf.read(prefix + source)), pyc


@pytest.mark.parametrize("package, budget", [("deployment.zip", MAX_ZIP_BYTES),
                                             ("layer-deployment.zip", MAX_LAYER_BYTES)])
def test_zip_size_is_within_budget(package: str, budget: int) -> None:
    path = packaged("prod") / package
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        count = len(zf.namelist())
    print(f"{package}: {size} bytes ({size / 1_000_000:.2f} MB), {count} files")
    assert size <= budget


def test_the_function_uses_the_layer_the_template_ships() -> None:
    resources = packaged_template("prod")["Resources"]
    layer = resources["ManagedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"].endswith("layer-deployment.zip")
    assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME]
    assert resources["APIHandler"]["Properties"]["Layers"] == [{"Ref": "ManagedLayer"}]
    assert resources["APIHandler"]["Properties"]["Runtime"] == RUNTIME


def test_argon2_bindings_are_a_manylinux_wheel_for_the_runtime(layer_names: list[str]) -> None:
    runtime = packaged_template("prod")["Resources"]["APIHandler"]["Properties"]["Runtime"]
    abi = "cpython-" + runtime.removeprefix("python").replace(".", "")
    assert any(n.startswith("_cffi_backend") and abi in n and n.endswith("x86_64-linux-gnu.so") for n in layer_names)
    with zipfile.ZipFile(packaged("prod") / "layer-deployment.zip") as zf:
        wheel = zf.read(LAYER_PREFIX + next(
            n for n in layer_names if re.match(r"argon2_cffi_bindings-.*\.dist-info/WHEEL$", n))).decode()
    assert "manylinux" in wheel


def test_requirements_are_the_runtime_pins_of_pyproject() -> None:
    pins = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().split() if "==" in line)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    declared = dict(dep.split("==") for dep in project)
    assert set(pins) == {"pynamodb", "argon2-cffi", "pyotp", "segno", "phonenumberslite", "idna", "fido2", "cryptography"}
    assert all(declared[name] == version for name, version in pins.items())


# A minimal API Gateway (REST, proxy) event, as API Gateway sends it behind CloudFront.
SERVE_HEALTH = r"""
import json, sys
sys.path[0:0] = sys.argv[1:]  # /var/task, then the layer's site-packages, as on Lambda
import botocore, app
assert not hasattr(app, "boto3")
from argon2 import PasswordHasher
PasswordHasher().hash("a password")            # the compiled binding loads
import phonenumbers
assert phonenumbers.is_valid_number(phonenumbers.parse("+447400123456"))
event = {
    "resource": "/api/health", "path": "/api/health", "httpMethod": "GET",
    "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com",
                "CloudFront-Viewer-Address": "198.51.100.7:4242", "User-Agent": "probe"},
    "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/api/health", "httpMethod": "GET", "path": "/v1/api/health",
                       "stage": "v1", "requestId": "r1", "identity": {"sourceIp": "130.176.0.1"}},
}
class Context:
    function_name = "twostep"; memory_limit_in_mb = 1024; aws_request_id = "r1"
    def get_remaining_time_in_millis(self): return 20000
answer = app.app(event, Context())
print(json.dumps({"status": answer["statusCode"], "body": json.loads(answer["body"]),
                  "headers": answer.get("headers", {}), "botocore": botocore.__file__}))
"""


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only what the Lambda runtime adds: boto3 and botocore (same versions)."""
    from importlib.metadata import version

    venv = tmp_path_factory.mktemp("lambda-runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"boto3=={version('boto3')}", f"botocore=={version('botocore')}"],
                   check=True, timeout=600)
    return python


def unpack(tmp_path: Path) -> Path:
    """The prod function extracted as Lambda extracts it into /var/task, and its layer as
    into /opt (tmp_path/task and tmp_path/opt)."""
    with zipfile.ZipFile(packaged("prod") / "deployment.zip") as zf:
        zf.extractall(tmp_path / "task")
    with zipfile.ZipFile(packaged("prod") / "layer-deployment.zip") as zf:
        zf.extractall(tmp_path / "opt")
    return tmp_path


def serve_health(runtime_python: Path, unpacked: Path) -> dict[str, Any]:
    env = {
        "PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "unused", "AWS_SECRET_ACCESS_KEY": "unused",
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true", "TWOSTEP_STAGE": "prod",
        **{name: "unused" for name in (
            "TWOSTEP_USERS_TABLE", "TWOSTEP_SESSIONS_TABLE", "TWOSTEP_FACTORS_TABLE",
            "TWOSTEP_RECOVERY_CODES_TABLE", "TWOSTEP_EPHEMERAL_TABLE", "TWOSTEP_EVENTS_TABLE",
            "TWOSTEP_KMS_KEY_ID", "TWOSTEP_HMAC_KEY_ID")},
    }
    paths = [str(unpacked / "task"), str(unpacked / "opt" / LAYER_PREFIX)]
    done = subprocess.run([str(runtime_python), "-I", "-c", SERVE_HEALTH, *paths],
                          cwd=unpacked / "task", env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_stripped_package_serves_a_request_on_the_runtimes_libraries(
    runtime_python: Path, tmp_path: Path
) -> None:
    unpacked = unpack(tmp_path)
    answer = serve_health(runtime_python, unpacked)
    assert answer["status"] == 200 and answer["body"] == {"status": "ok"}
    assert "Strict-Transport-Security" in answer["headers"]
    assert not answer["botocore"].startswith(str(unpacked))  # the runtime's botocore, not ours


def test_the_package_runs_from_its_bytecode(runtime_python: Path, tmp_path: Path) -> None:
    # Every source that has bytecode is replaced by a raise after unpacking: the request is
    # still served, so nothing with bytecode was compiled (unchecked .pyc ignore their source).
    unpacked = unpack(tmp_path)
    replaced = 0
    for pyc in unpacked.rglob("__pycache__/*.pyc"):
        source = pyc.parent.parent / (pyc.name.split(".")[0] + ".py")
        source.write_text("raise ImportError('compiled from source')\n")
        replaced += 1
    assert replaced > 50
    assert serve_health(runtime_python, unpacked)["status"] == 200
