"""Read the text messages the emulator's SNS received (it stands in for the phone)."""
from __future__ import annotations

import re

import requests


def messages(emulator_url: str, number: str | None = None) -> list[str]:
    found = requests.get(f"{emulator_url}/_emulator/sms.json", timeout=10).json()  # local/emulator.py
    return [m["message"] for m in found if number is None or m["phone_number"] == number]


def last_code(emulator_url: str, number: str) -> str:
    texts = messages(emulator_url, number)
    assert texts, f"no text message to {number}"
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)
