"""The load check (issue 10): concurrent full logins with two-factor on the real local stack.

`python -m local.run` runs in a subprocess, as in tests/e2e. CLIENTS threads, each with
ACCOUNTS_PER_CLIENT accounts of its own (two-factor on), log in for DURATION seconds: the
password step, then an authenticator code (tests/rfc6238) when the account has a step it
has not used yet (this step, or the next one, which the app accepts as drift), else one of
its ten recovery codes. Reported: logins per second, p50 and p99 of a full login. Checked:
no request failed, and no single-use secret worked twice: afterwards the last authenticator
code and the last recovery code of a sample of accounts are submitted again with fresh login
tokens, and each must be refused with 401.
"""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench.support import REPO, Figure, check, median, percentile
from local import launch

GROUP = "load"
CLIENTS = 8
ACCOUNTS_PER_CLIENT = 4
DURATION = 20.0
REPLAY_SAMPLE = 8
PASSWORD = "correct horse battery staple"
CSRF = {"X-Requested-With": "twostep"}
LOG = REPO / "test-artifacts" / "bench-local-run.log"


@dataclass
class Account:
    email: str
    secret: str
    recovery_codes: list[str]
    last_step: int
    used_codes: list[tuple[str, int]] = field(default_factory=list)  # (authenticator code, its step)
    used_recovery: list[str] = field(default_factory=list)

    def next_proof(self, now_step: int) -> dict[str, str] | None:
        from tests import rfc6238

        for step in (now_step, now_step + 1):
            if step > self.last_step:
                self.last_step = step
                code = rfc6238.totp(self.secret, at=step * 30)
                self.used_codes.append((code, step))
                return {"code": code}
        if self.recovery_codes:
            code = self.recovery_codes.pop()
            self.used_recovery.append(code)
            return {"recovery_code": code}
        return None


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    by_method: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, method: str) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.by_method[method] = self.by_method.get(method, 0) + 1

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def make_account(base: str) -> Account:
    from tests import rfc6238

    http = requests.Session()
    email = f"load-{uuid.uuid4().hex[:12]}@example.com"
    answer = http.post(f"{base}/api/signup", json={"email": email, "password": PASSWORD}, headers=CSRF, timeout=30)
    answer.raise_for_status()
    setup = http.post(f"{base}/api/account/two-factor/setup", json={"password": PASSWORD}, headers=CSRF, timeout=30)
    setup.raise_for_status()
    secret, step = setup.json()["secret"], int(time.time() // 30)
    # The previous step's code (accepted as drift) leaves this step free for the first login.
    confirm = http.post(f"{base}/api/account/two-factor/confirm", headers=CSRF, timeout=30,
                        json={"authenticator_id": setup.json()["authenticator_id"],
                              "code": rfc6238.totp(secret, at=(step - 1) * 30)})
    confirm.raise_for_status()
    return Account(email, secret, list(confirm.json()["recovery_codes"]), step - 1)


def login_token(http: requests.Session, base: str, email: str) -> requests.Response:
    return http.post(f"{base}/api/login", json={"email": email, "password": PASSWORD, "client": "browser"}, timeout=30)


def client_loop(base: str, accounts: list[Account], deadline: float, results: Results) -> None:
    http = requests.Session()
    while time.monotonic() < deadline:
        now_step = int(time.time() // 30)
        found = next(((a, p) for a in accounts if (p := a.next_proof(now_step)) is not None), None)
        if found is None:
            results.fail("ran out of single-use codes: add accounts")
            return
        account, proof = found
        started = time.perf_counter()
        first = login_token(http, base, account.email)
        if first.status_code != 200 or first.json().get("status") != "two_factor_required":
            results.fail(f"password step {first.status_code} {first.text[:200]}")
            continue
        second = http.post(f"{base}/api/login/verify", json={"login_token": first.json()["login_token"], **proof},
                           timeout=30)
        http.cookies.clear()
        if second.status_code != 200:
            results.fail(f"second factor {next(iter(proof))} {second.status_code} {second.text[:200]}")
            continue
        results.add(time.perf_counter() - started, next(iter(proof)))


def replays(base: str, accounts: list[Account]) -> tuple[int, list[str]]:
    """Submit used codes again with fresh login tokens: every one must get 401. At most two
    per account, below the three free failures, so a refusal is a 401 and not a 429."""
    http = requests.Session()
    tried, accepted = 0, []
    now_step = int(time.time() // 30)
    for account in accounts[:REPLAY_SAMPLE]:
        proofs = []
        if account.used_codes and account.used_codes[-1][1] >= now_step - 1:  # still inside the window
            proofs.append({"code": account.used_codes[-1][0]})
        if account.used_recovery:
            proofs.append({"recovery_code": account.used_recovery[-1]})
        for proof in proofs:
            token = login_token(http, base, account.email).json()["login_token"]
            answer = http.post(f"{base}/api/login/verify", json={"login_token": token, **proof}, timeout=30)
            tried += 1
            if answer.status_code != 401:
                accepted.append(f"{next(iter(proof))} of {account.email}: {answer.status_code}")
    return tried, accepted


def measure(duration: float = DURATION) -> list[Figure]:
    LOG.parent.mkdir(exist_ok=True)
    log = LOG.open("wb")
    process, base, _ = launch.start(log, TWOSTEP_SIGNUP_PER_IP_PER_HOUR="100000")
    try:
        try:
            launch.wait_healthy(base, process)
        except launch.NotHealthy as exc:
            raise RuntimeError(f"{exc}; see {LOG}") from None
        with ThreadPoolExecutor(CLIENTS) as pool:
            accounts = list(pool.map(lambda _: make_account(base), range(CLIENTS * ACCOUNTS_PER_CLIENT)))
        results = Results()
        started = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(base, accounts[i::CLIENTS], started + duration, results))
                   for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration + 60)
        elapsed = time.monotonic() - started
        tried, accepted = replays(base, accounts)
    finally:
        launch.stop(process)
        log.close()
    logins = len(results.latencies)
    throughput = logins / elapsed
    p50, p99 = median(results.latencies) * 1000, percentile(results.latencies, 99) * 1000
    speed = Figure(GROUP, f"load: {CLIENTS} clients, full logins with two-factor for {duration:.0f} s",
                   f"{throughput:.1f} logins/s ({logins} logins: {results.by_method.get('code', 0)} authenticator, "
                   f"{results.by_method.get('recovery_code', 0)} recovery code); p50 {p50:.0f} ms, p99 {p99:.0f} ms",
                   data={"clients": CLIENTS, "seconds": elapsed, "logins": logins, "per_second": throughput,
                         "p50_ms": p50, "p99_ms": p99, "by_method": results.by_method})
    safety = Figure(GROUP, "load: failed requests, single-use secrets accepted twice",
                    f"{len(results.failures)} failed; {len(accepted)} of {tried} replayed codes accepted",
                    budget="0 failed; every replay refused (401)",
                    data={"failures": results.failures[:20], "replays_tried": tried, "replays_accepted": accepted})
    check(safety, not results.failures, f"{len(results.failures)} failed requests, e.g. {results.failures[:3]}")
    check(safety, not accepted and tried > 0, f"replays accepted: {accepted}" if accepted else "no replay was tried")
    check(speed, logins > 0, "no login succeeded")
    return [speed, safety]
