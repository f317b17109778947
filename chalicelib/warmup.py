"""A Lambda container's warm-up, kept out of the cyclic garbage collector's way.

Importing the app and serving the first request builds what lives as long as the
container: about 300 modules, the botocore session, the service models and the clients,
some 60,000 objects. CPython's first full collection falls in the middle of that (about
30 ms, a tenth of a cold start on two cores) and finds almost nothing to free, and every
later full collection walks the same objects again.

So on Lambda (the runtime sets AWS_LAMBDA_FUNCTION_NAME) the collector is off from
`import app` until the first response is ready; then everything alive is moved to the
permanent generation (`gc.freeze()`, as the gc module's docs describe for servers that
warm up before they fork) and collection resumes for what requests create. Elsewhere
(local mode, tests, tools that import the app) nothing changes: a process that imported
the app and never served a request would otherwise run without a collector.
"""
from __future__ import annotations

import gc
import os

_held = False


def hold() -> None:
    """At import: pause the collector for the warm-up, on Lambda only."""
    global _held
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and gc.isenabled():
        gc.disable()
        _held = True


def served() -> None:
    """After a request, whatever its outcome: the first one ends the warm-up."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()
