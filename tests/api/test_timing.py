"""Unknown email and wrong password take about the same time (SECURITY.md, "Passwords").

Measured in-process (chalice.test.Client on the emulator), so machine noise stays small:
50 tries each, interleaved, the clock moved past any backoff before each try; the medians
must be within 20% of each other."""
from __future__ import annotations

import statistics
import time


def test_unknown_email_and_wrong_password_take_about_the_same_time(api, clock):
    account = api.signup()
    timings: dict[str, list[float]] = {"wrong": [], "unknown": []}
    emails = {"wrong": account.email, "unknown": "nobody-by-this-name@example.com"}
    for _ in range(50):
        for kind in ("wrong", "unknown"):
            clock.shift(901)  # past the longest backoff, so every try verifies a password
            started = time.perf_counter()
            answer = api.post("/api/login", {"email": emails[kind], "password": "not the right password"})
            timings[kind].append(time.perf_counter() - started)
            assert answer.status == 401
    wrong, unknown = statistics.median(timings["wrong"]), statistics.median(timings["unknown"])
    assert wrong > 0.005 and unknown > 0.005  # a real Argon2 verification each (the clock is frozen, perf_counter is not)
    assert abs(wrong - unknown) / max(wrong, unknown) < 0.20, (wrong, unknown)
