"""Schemathesis hooks for scripts/fuzz-api.sh.

A client sends a new Idempotency-Key with each new request; the fuzzer would otherwise send
one generated key with many different requests, and the API rightly answers those with 422.
A key the document allows is replaced by a fresh one; a key it does not allow (empty, too
long) is left as generated, to be refused.
"""
import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and 1 <= len(key) <= 255:
        headers["Idempotency-Key"] = str(uuid.uuid4())
