"""The catalogue of security events holds every type once: the product writes only those,
the front end labels exactly those with the catalogue's words, and API.md lists them."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from chalicelib import events
from chalicelib.context import Requester

ROOT = Path(__file__).resolve().parents[2]


def _front_end_labels() -> dict[str, str]:
    source = (ROOT / "frontend/js/views/security.js").read_text()
    block = re.search(r"const EVENTS = \{(.*?)\n\};", source, re.S)
    assert block, "security.js no longer has its EVENTS map"
    return dict(re.findall(r"^\s*([a-z_]+): '([^']*)',$", block.group(1), re.M))


def test_the_front_end_labels_every_type_with_the_catalogues_words():
    assert _front_end_labels() == {name: t.label for name, t in events.CATALOGUE.items()}


def test_every_type_the_api_contract_lists_is_in_the_catalogue():
    api = (ROOT.parent / "shared/API.md")
    if not api.exists():
        pytest.fail(f"{api} is missing: the contract is part of every issue")
    row = next(line for line in api.read_text().splitlines() if line.startswith("| GET /api/account/events"))
    listed = set(re.findall(r"`([a-z_]+)`", row.split("`type` is one of", 1)[1]))
    assert listed - set(events.CATALOGUE) == set()


def test_each_constant_names_a_catalogued_type_and_each_type_has_one():
    constants = {name: value for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}
    assert sorted(constants.values()) == sorted(events.CATALOGUE)
    assert all(name == value.upper() for name, value in constants.items())


def test_an_unknown_type_is_refused_before_anything_is_written():
    with pytest.raises(events.UnknownEventType):
        events.build("user", "two_factor_disabledd", Requester())


def _string_literals_passed_as_types(path: Path) -> list[str]:
    """Calls of build/record/logged whose type argument is a string literal."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("build", "record", "logged") and len(node.args) >= 2 \
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.args[1].value}")
    return found


def test_the_product_names_event_types_only_through_the_catalogue():
    literals = [hit for path in sorted((ROOT / "chalicelib").rglob("*.py")) if path.name != "events.py"
                for hit in _string_literals_passed_as_types(path)]
    assert literals == []


def test_the_security_log_is_written_only_through_the_catalogue():
    """Outside the catalogue and the store layer, nothing imports the storage of events."""
    offenders = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "chalicelib").rglob("*.py"))
                 if path.parent.name != "store" and path.name != "events.py"
                 and re.search(r"from chalicelib\.store import events|chalicelib\.store\.events", path.read_text())]
    assert offenders == []
