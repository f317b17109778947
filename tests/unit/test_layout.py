"""The layout says the architecture, and these tests hold it: handlers never reach the store,
no module imports itself back, each idea (key prefixes, dummy credentials, the factor
contract) lives in one place."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from chalicelib import factors
from chalicelib.factors.contract import Factor, Proof, problems

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "chalicelib"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside a function (TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


SOURCES = {_module_name(p): p for p in LIB.rglob("*.py")}


def test_no_handler_and_not_app_py_imports_the_store():
    handlers = [p for p in (LIB / "api").glob("*.py")] + [ROOT / "app.py"]
    offenders = {p.name: sorted(i for i in _imports(p) if i.startswith("chalicelib.store")) for p in handlers}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_chalicelib_has_no_import_cycle():
    # (a package importing its own submodules, as a registry does, is not a cycle)
    graph = {name: {i for i in _imports(path) if i in SOURCES and i != name} for name, path in SOURCES.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return path + [nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [c for name in sorted(graph) if (c := cycle_from(name))]
    assert cycles == [], cycles


def _string_constants(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
    return found


def test_every_key_prefix_is_written_in_store_keys_only():
    import re

    prefix = re.compile(r"^[a-z][a-z_-]*#")
    offenders = {name: [s for s in _string_constants(path) if prefix.match(s)]
                 for name, path in SOURCES.items() if name != "chalicelib.store.keys"}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_dummy_local_credentials_are_written_once():
    places = [p for p in [*LIB.rglob("*.py"), *(ROOT / "local").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
              if "testing" in _string_constants(p)]
    assert [p.relative_to(ROOT).as_posix() for p in places] == ["chalicelib/aws.py"]


@pytest.mark.parametrize("module", factors.BUILT_IN)
def test_each_built_in_kind_is_a_package_that_meets_the_contract(module):
    package = importlib.import_module(module)
    assert Path(package.__file__).name == "__init__.py"  # a folder of its own
    assert problems(package.FACTOR) == []


def test_a_factor_that_breaks_the_contract_is_refused_when_registered():
    class Incomplete(Factor):
        method = "incomplete"
        label = "Incomplete"
        field = "incomplete"
        enrols = True  # but no begin, finish or listing, and no check

    with pytest.raises(factors.ContractBroken) as refused:
        factors.register(Incomplete())
    for part in ("check()", "begin()", "finish()", "listing()"):
        assert part in str(refused.value)

    class Taken(Factor):
        method = "totp"
        label = "Another authenticator"
        field = "other_code"

        def check(self, user, value, login, items) -> Proof | None:
            return None

    with pytest.raises(factors.ContractBroken, match="taken"):
        factors.register(Taken())
    assert [f.method for f in factors.all_factors()] == ["totp", "recovery_code", "sms", "webauthn"]
