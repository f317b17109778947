"""Regenerate chalicelib/data/common-passwords.txt.gz from the zxcvbn package.

The list ships with the Lambda as a small gzip file rather than as zxcvbn itself (whose
frequency lists weigh 800 KB, most of it dictionaries we do not need). The test
tests/unit/test_passwords.py::test_common_list_matches_zxcvbn proves the shipped file
is exactly zxcvbn's `passwords` list, so it can never drift into a hand-typed one.

    .venv/bin/python scripts/build_common_passwords.py
"""
from __future__ import annotations

import gzip
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

TARGET = Path(__file__).resolve().parent.parent / "chalicelib" / "data" / "common-passwords.txt.gz"


def main() -> None:
    words = FREQUENCY_LISTS["passwords"]
    data = ("\n".join(words) + "\n").encode("utf-8")
    # mtime=0 keeps the file byte-identical between runs.
    TARGET.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{TARGET}: {len(words)} passwords, {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main()
