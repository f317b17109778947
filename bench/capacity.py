"""DynamoDB capacity units from item sizes, by DynamoDB's published rules.

moto reports fixed consumed-capacity figures, so they are computed here instead:

- item size: the sum of each attribute's name (UTF-8 bytes) and value: strings their UTF-8
  bytes, binary their bytes, numbers about (significant digits + 1) / 2 + 1 bytes, booleans
  and null 1 byte, lists and maps 3 bytes plus 1 byte and the size of each element;
- reads: ceil(size / 4 KB) read units for a strongly consistent read, half that for an
  eventually consistent one, 1 (or 0.5) at least, even for an item that is not there; a
  Query adds the sizes of every item it returns, then rounds;
- writes: ceil(size / 1 KB) write units, 1 at least; for an update or an overwrite the larger
  of the item before and after; a write also costs its size again on each global secondary
  index whose keys the item carries;
- transactions cost twice the units of the same reads and writes (index writes not doubled).
"""
from __future__ import annotations

import math
from typing import Any

READ_UNIT = 4096
WRITE_UNIT = 1024


def number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: dict[str, Any]) -> int:
    (kind, raw), = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool, transaction: bool = False) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    units = units if consistent else units / 2
    return units * (2 if transaction else 1)


def write_units(before: int, after: int, transaction: bool = False) -> float:
    units = max(1, math.ceil(max(before, after) / WRITE_UNIT))
    return units * (2 if transaction else 1)


def index_write_units(before: dict | None, after: dict | None, index_keys: list[list[str]]) -> float:
    """Units spent on the table's global secondary indexes (projection ALL assumed)."""
    total = 0.0
    for keys in index_keys:
        carried = [image for image in (before, after) if image and all(k in image for k in keys)]
        if carried:
            total += max(1, math.ceil(max(item_size(i) for i in carried) / WRITE_UNIT))
    return total
