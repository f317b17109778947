"""The fresh process the cold start measures: `python bench/cold_child.py <floor|app> <scenario.json>`.

`floor` only imports botocore.session and builds a DynamoDB client (what PynamoDB alone
costs). `app` imports `app` and serves the scenario's requests in-process, as Lambda does:
an API Gateway proxy event handed to `app.app(event, context)`. AWS is stubbed: botocore's
`URLLib3Session.send` answers from the HTTP exchanges captured against the emulator
(bench/calls.py), so nothing leaves the process. Prints one JSON line: times and the
modules loaded after each step. Imports nothing of its own before measuring the bare
interpreter, so that the counts are the app's.
"""
import sys

BARE = set(sys.modules)


def replay_key(headers, body):
    """What a canned answer is looked up by: the JSON target and table, or the query Action."""
    import json

    target = headers.get("X-Amz-Target") or b""
    target = target.decode() if isinstance(target, bytes) else target
    if target:
        try:
            table = json.loads(body or b"{}").get("TableName", "")
        except ValueError:
            table = ""
        return f"{target} {table}".strip()
    for part in (body or b"").decode(errors="replace").split("&"):
        if part.startswith("Action="):
            return part[len("Action="):]
    return "?"


def stub_aws(exchanges, unplanned):
    """Answer every botocore request from `exchanges` (in order per key); writes nobody
    captured get an empty success, reads a loud failure."""
    import base64

    import botocore.awsrequest
    import botocore.httpsession

    queues = {}
    for exchange in exchanges:
        queues.setdefault(exchange["key"], []).append(exchange)

    def send(session, request):
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        key = replay_key(dict(request.headers), body)
        queue = queues.get(key) or []
        if queue:
            found = queue.pop(0) if len(queue) > 1 else queue[0]
            status, headers, content = found["status"], found["headers"], base64.b64decode(found["body"])
        elif key.split(" ")[0].split(".")[-1] in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"):
            unplanned.append(key)
            status, headers, content = 200, {"content-type": "application/x-amz-json-1.0"}, b"{}"
        else:
            raise RuntimeError(f"bench stub: no captured answer for {key}")
        return botocore.awsrequest.AWSResponse(request.url, status, headers, _Raw(content))

    botocore.httpsession.URLLib3Session.send = send


class _Raw:
    def __init__(self, content):
        self._content = content

    def stream(self, *args, **kwargs):
        yield self._content


class _Context:
    function_name = "twostep-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    aws_request_id = "bench"
    log_group_name = log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis():
        return 20000


def floor():
    import botocore.session

    botocore.session.get_session().create_client("dynamodb", region_name="us-east-1")


def serve(scenario):
    """Import the app, then serve each request; modules after each step. What only the
    harness does (reading the plan, the census of modules and clients) is timed apart, in
    `harness_wall`/`harness_cpu`, so that the parent can leave it out of the app's figure."""
    import time

    harness = {"wall": 0.0, "cpu": 0.0}

    def census(step):
        w, c = time.perf_counter(), time.process_time()
        step["modules"] = sorted(set(sys.modules) - BARE)
        step["clients"] = _clients()
        harness["wall"] += time.perf_counter() - w
        harness["cpu"] += time.process_time() - c
        return step

    started = time.perf_counter()
    import app  # noqa: F401 - the import is what is measured

    steps = [census({"step": "import app", "seconds": time.perf_counter() - started})]
    w, c = time.perf_counter(), time.process_time()
    import json

    with open(scenario) as handle:
        plan = json.load(handle)
    harness["wall"] += time.perf_counter() - w
    harness["cpu"] += time.process_time() - c
    unplanned = []
    stub_aws(plan["exchanges"], unplanned)
    for event in plan["events"]:
        began = time.perf_counter()
        answer = app.app(event, _Context())
        seconds = time.perf_counter() - began
        steps.append(census({"step": event["requestContext"]["resourcePath"], "status": answer["statusCode"],
                             "seconds": seconds}))
    return {"steps": steps, "unplanned": unplanned, "harness_wall": harness["wall"], "harness_cpu": harness["cpu"]}


def _clients():
    """The services of every botocore client alive in the process."""
    if "botocore.client" not in sys.modules:
        return []
    import gc

    base = sys.modules["botocore.client"].BaseClient
    # gc.get_objects() leaves out the permanent generation, where chalicelib/warmup.py moves
    # the warm-up (its clients included): bring it back for the census, then freeze again.
    frozen = gc.get_freeze_count()
    if frozen:
        gc.unfreeze()
    try:
        return sorted({o.meta.service_model.service_name for o in gc.get_objects() if isinstance(o, base)})
    finally:
        if frozen:
            gc.freeze()


def main():
    import time

    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = {"bare": len(BARE)}
    if sys.argv[1] == "floor":
        floor()
    else:
        result.update(serve(sys.argv[2]))
    result["cpu"], result["wall"] = time.process_time() - cpu0, time.perf_counter() - wall0
    import json
    import os

    print(json.dumps(result), flush=True)
    # Leave without the interpreter's teardown (a full collection, finalizers): a Lambda
    # container is not torn down after its first request, so it is not part of a cold start,
    # for the floor or the app.
    os._exit(0)


if __name__ == "__main__":
    main()
