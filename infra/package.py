"""Build the deployable artefacts for a stage: `python infra/package.py <dev|prod> [root]`.

1. Join infra/template.yaml (tables and keys: the one definition, also deployed locally)
   and infra/edge.yaml (what only AWS needs) into build/merge-<stage>.json. The packaged
   template can only be deployed as its own stage: Stage's default and only allowed value
   become <stage>, so a prod template always has deletion protection on.
2. `chalice package --merge-template` it into build/<stage>/ (the root is build/ unless
   given): sam.yaml, deployment.zip (the function: app.py, chalicelib/, Chalice's runtime)
   and layer-deployment.zip (the dependencies, as Chalice's automatic layer: a Lambda layer,
   unpacked under /opt/python/lib/pythonX.Y/site-packages, so that the function stays the
   app's own code however large a library such as cryptography is).
   The IAM policy is .chalice/policy-<stage>.json, which Chalice copies verbatim into the
   role; its Fn::GetAtt/Fn::Sub resolve to the real ARNs of this stack's tables and keys.
3. Strip from the layer what the Lambda Python runtime already provides: boto3, botocore and
   the distributions only they need (found from the zip's own dist-info metadata). Chalice
   cannot exclude a dependency, and PynamoDB pulls botocore in. Strip too what only
   building argon2's C binding needed (cffi's Python half, pycparser).
4. Ship bytecode beside every module: `/var/task` is read-only on Lambda, so a module
   without a .pyc is compiled from source on every cold start (Chalice packages none).
   The .pyc files are unchecked-hash ones (PEP 552): the zip's timestamps cannot be trusted
   to survive extraction, and a deployed package never changes. Compiled by the interpreter
   that packaged (Chalice takes the runtime from it, so the versions match; checked).

Prints the zip's size and file count.
"""
from __future__ import annotations

import compileall
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
INFRA = REPO / "infra"
BUILD = REPO / "build"
STAGES = ("dev", "prod")

# What the AWS Lambda Python runtimes ship outside the function's package. Stripping is
# limited to these: anything else boto3/botocore alone needed would be a surprise.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
STRIP_ROOTS = {"boto3", "botocore"}
# What only building argon2's binding needs: `_argon2_cffi_bindings` is compiled, and at run
# time it loads nothing of cffi but its C module `_cffi_backend`, which stays.
BUILD_ONLY = {"cffi": ("_cffi_backend",), "pycparser": ()}
# No bytecode for what only the rare paths import: phonenumbers (setting up a phone; its
# metadata is hundreds of modules, 0.6 MB of .pyc zipped, over the size budget) and segno
# (drawing the QR code when enabling), idna (an email address whose domain is not plain
# ASCII; its tables are 0.3 MB of source). Those compile once per container, on that path.
NO_BYTECODE = ("phonenumbers/", "segno/", "idna/")
# The Lambda runtime's interpreter, for evaluating environment markers.
TARGET_ENV = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
              "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
              "implementation_name": "cpython", "platform_python_implementation": "CPython",
              "extra": ""}


def load_yaml(path: Path) -> dict[str, Any]:
    """Load a CloudFormation YAML template as Chalice does (short-form tags to long form)."""
    from chalice.package import YAMLTemplateSerializer

    return YAMLTemplateSerializer().load_template(path.read_text(), str(path))


def merge_template(stage: str) -> dict[str, Any]:
    data, edge = load_yaml(INFRA / "template.yaml"), load_yaml(INFRA / "edge.yaml")
    merged: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09",
                              "Description": f"twostep {stage}: tables, keys, API and edge"}
    for section in ("Metadata", "Parameters", "Rules", "Conditions", "Resources", "Outputs"):
        left, right = data.get(section, {}), edge.get(section, {})
        clash = sorted(set(left) & set(right))
        if clash:
            raise SystemExit(f"infra/template.yaml and infra/edge.yaml both define {section} {clash}")
        if left or right:
            merged[section] = {**left, **right}
    merged["Parameters"]["Stage"] = {**merged["Parameters"]["Stage"], "Default": stage, "AllowedValues": [stage]}
    return merged


def requirement_names(metadata: str) -> list[str]:
    """The distributions a METADATA file requires on the Lambda runtime (markers evaluated)."""
    from packaging.requirements import Requirement

    names = []
    for line in Parser().parsestr(metadata).get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(TARGET_ENV):
            names.append(canonical(req.name))
    return names


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def dist_directories(zf: zipfile.ZipFile, prefix: str = "") -> dict[str, str]:
    """{distribution: its .dist-info directory, `prefix` included} for every distribution
    in the zip whose packages lie under `prefix` (a layer's site-packages)."""
    found = {}
    for name in zf.namelist():
        if not name.startswith(prefix):
            continue
        top, _, rest = name[len(prefix):].partition("/")
        if top.endswith(".dist-info") and rest == "METADATA":
            found[canonical(Parser().parsestr(zf.read(name).decode())["Name"])] = prefix + top
    return found


def strippable(zf: zipfile.ZipFile, roots: list[str], dist_infos: dict[str, str]) -> dict[str, str]:
    """{distribution: its .dist-info directory} for what only boto3/botocore need."""
    requires = {dist: requirement_names(zf.read(f"{top}/METADATA").decode()) for dist, top in dist_infos.items()}

    def closure(start: set[str], avoid: set[str]) -> set[str]:
        seen, todo = set(), [d for d in start if d not in avoid]
        while todo:
            dist = todo.pop()
            if dist in seen:
                continue
            seen.add(dist)
            todo.extend(d for d in requires.get(dist, []) if d not in avoid)
        return seen

    kept = closure({canonical(r) for r in roots} - STRIP_ROOTS, STRIP_ROOTS)
    only_aws_sdk = closure(STRIP_ROOTS & set(dist_infos), set()) - kept
    surprise = only_aws_sdk - RUNTIME_PROVIDED
    if surprise:
        raise SystemExit(f"boto3/botocore need {sorted(surprise)}, which the Lambda runtime lacks")
    return {dist: dist_infos[dist] for dist in sorted(only_aws_sdk) if dist in dist_infos}


def layer_prefix(runtime: str) -> str:
    """Where a Python layer's packages lie in its zip (Lambda adds /opt/<this> to sys.path)."""
    return f"python/lib/{runtime}/site-packages/"


def strip_zip(path: Path, roots: list[str], runtime: str, prefix: str = "", ddir: str = "/var/task") -> list[str]:
    """Rewrite the zip without the runtime-provided distributions and with bytecode for
    every module left; return the names of the distributions stripped. `prefix`: where the
    packages lie in the zip (a layer's site-packages); `ddir`: where the zip is unpacked on
    Lambda, for the paths tracebacks name."""
    with zipfile.ZipFile(path) as zf:
        dist_infos = dist_directories(zf, prefix)
        dists = strippable(zf, roots, dist_infos)
        build_only = {dist: info for dist, info in dist_infos.items() if dist in BUILD_ONLY}
        doomed: set[str] = set()
        for dist, dist_info in {**dists, **build_only}.items():
            record = zf.read(f"{dist_info}/RECORD").decode()
            spared = BUILD_ONLY.get(dist, ())
            doomed.update(prefix + name for name in (line.split(",", 1)[0] for line in record.splitlines()
                                                     if line.strip())
                          if not (spared and name.startswith(spared)))
            doomed.update(n for n in zf.namelist() if n.startswith(f"{dist_info}/"))
        kept = [info for info in zf.infolist()
                if info.filename not in doomed and "/__pycache__/" not in f"/{info.filename}"]
        sources = {info.filename: zf.read(info) for info in kept
                   if info.filename.endswith(".py") and not info.filename[len(prefix):].startswith(NO_BYTECODE)}
        compiled = bytecode(sources, runtime, ddir)
        tmp = path.with_suffix(".tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
            for info in kept:
                out.writestr(info, zf.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            for name, data in sorted(compiled.items()):
                out.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(path)
    return sorted({**dists, **build_only})


def bytecode(sources: dict[str, bytes], runtime: str, ddir: str = "/var/task") -> dict[str, bytes]:
    """{zip path of the .pyc: its bytes} for every source that compiles, as the Lambda
    runtime `runtime` (pythonX.Y) would look for it: unchecked-hash, tracebacks naming
    where the zip is unpacked (`ddir`). A file that does not compile (some packages ship templates named .py) gets
    none, as it would have none on the runtime either."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != here:
        raise SystemExit(f"the function runs on {runtime} but this is {here}: its bytecode would be ignored")
    with tempfile.TemporaryDirectory(prefix="twostep-bytecode-") as tmp:
        root = Path(tmp)
        for name, data in sources.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        compileall.compile_dir(root, ddir=ddir, quiet=2, workers=0,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        return {str(pyc.relative_to(root)): pyc.read_bytes() for pyc in root.rglob("__pycache__/*.pyc")}


def runtime_requirements() -> list[str]:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    return [line.split("==")[0].strip() for line in lines if line.strip() and not line.startswith("#")]


def build(stage: str, root: Path = BUILD) -> Path:
    """Package `stage` into root/<stage>/ (sam.yaml, deployment.zip, layer-deployment.zip);
    return that directory."""
    if stage not in STAGES:
        raise SystemExit(f"stage must be one of {STAGES}")
    root = root.resolve()
    out = root / stage
    merge_file = root / f"merge-{stage}.json"
    shutil.rmtree(out, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    merge_file.write_text(json.dumps(merge_template(stage), indent=2) + "\n")
    chalice = Path(sys.executable).with_name("chalice")
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # Chalice wants one; the template uses AWS::Region
    subprocess.run(
        [str(chalice), "package", "--stage", stage, "--template-format", "yaml",
         "--merge-template", str(merge_file), str(out)],
        cwd=REPO, env=env, check=True,
    )
    runtime = load_yaml(out / "sam.yaml")["Resources"]["APIHandler"]["Properties"]["Runtime"]
    strip_zip(out / "deployment.zip", [], runtime)  # bytecode for the app and Chalice's runtime
    removed = strip_zip(out / "layer-deployment.zip", runtime_requirements(), runtime,
                        prefix=layer_prefix(runtime), ddir="/opt")
    print(f"stripped (the Lambda runtime provides them, or only the build needed them): {', '.join(removed)}")
    for zip_path in (out / "deployment.zip", out / "layer-deployment.zip"):
        with zipfile.ZipFile(zip_path) as zf:
            count = len(zf.namelist())
        print(f"{zip_path}: {zip_path.stat().st_size} bytes, {count} files")
    print(f"{out / 'sam.yaml'}: the template to deploy")
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: python infra/package.py <dev|prod> [output root, default build/]")
    build(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) == 3 else BUILD)
