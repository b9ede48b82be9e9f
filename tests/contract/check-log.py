#!/usr/bin/env python3
"""Reads the logs of Prism proxies and says which requests broke the vendor's spec.

Usage: check-log.py [--canary-tenant T] [--expect "METHOD PATH"]... LOG...

Every `Violation:` line Prism logs is given to the request it belongs to (the last request
received before it; the contract check sends one request at a time, so that is exact; where
requests overlapped anyway, the line is given to every request then in flight, and the report
says so). Request-side violations fail the check, except the documented spec quirk (QUIRK
below, tests/contract/README.md); response-side violations are listed, never failed.
Requests to the tenant named by --canary-tenant are the canary, a request broken on purpose:
their violations are listed apart, and the check fails unless Prism flagged them.

Exit status: 0 clean; 1 a request-side violation outside the quirk, a request Prism could not
handle, an --expect'ed operation never seen, or a canary not flagged; 2 a log it cannot read.
"""

import argparse
import re
import sys
from collections import Counter, OrderedDict

# The operations of the vendor's spec that the check's traffic uses, as Prism's rewritten copy
# names them (tests/contract/rewrite-spec.awk). A path that is none of these keeps its own
# text, so an unexpected request shows up as itself.
OPERATIONS = [
    (re.compile(r"^/api/system/([^/]+)/organizations$"), "/api/system/{tenant}/organizations"),
    (re.compile(r"^/api/system/([^/]+)/organizations/[^/]+$"), "/api/system/{tenant}/organizations/{wid}"),
    (re.compile(r"^/([^/]+)/system/oauth2/token$"), "/{tenant}/system/oauth2/token"),
    (re.compile(r"^/([^/]+)/system/\.well-known/openid-configuration$"),
     "/{tenant}/system/.well-known/openid-configuration"),
]

# The one documented quirk (tests/contract/README.md): the spec types each value of
# `metadata.payload` as an object (`additionalProperties: {type: object}`) where the product
# doc sends strings and lists. Allowed only on the two operations whose body carries it, only
# for a key directly under `payload` (the location and the message naming the same key), and
# only for "must be object": a wrong type anywhere else, deeper in payload or in `schema`,
# still fails.
QUIRK_OPERATIONS = {
    "POST /api/system/{tenant}/organizations",
    "PUT /api/system/{tenant}/organizations/{wid}",
}
QUIRK = re.compile(
    r"^request\.body\.metadata\.payload\.(?P<key>[^.\s]+) "
    r"Request body property metadata\.payload\.(?P=key) must be object$"
)

RECEIVED = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) .*Request received\s*$")
TERMINATED = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) .*Request terminated with error: (.*)$")
ANSWERED = re.compile(r"\[PROXY\] .*< Received forward response\s*$")
VIOLATION = re.compile(r"\[VALIDATOR\] \S+\s+(\w+)\s+Violation: (.*?)\s*$")
INDEX = re.compile(r"\.\d+(?=\.|\s|$)")
# The same quirk in a reply (reported, never failed): marked so that it reads as the quirk.
REPLY_QUIRK = re.compile(
    r"^response\.body(?:\.organizations\[\])?\.metadata\.payload\.[^.\s]+ .* must be object$"
)


def operation(method, path):
    """(operation, tenant) of a request, e.g. ("POST /api/system/{tenant}/organizations", "demo")."""
    for pattern, template in OPERATIONS:
        found = pattern.match(path)
        if found:
            return f"{method.upper()} {template}", found.group(1)
    return f"{method.upper()} {path}", None


class Report:
    def __init__(self, canary_tenant):
        self.canary_tenant = canary_tenant
        self.requests = Counter()  # operation -> count (canary left out)
        self.failures = Counter()  # (operation, violation) -> count: request side, not allowed
        self.quirks = Counter()  # operation -> count of allowed quirk violations
        self.responses = Counter()  # (operation, violation) -> count
        self.canary = Counter()  # violation -> count (request side)
        self.canary_quirks = 0
        self.overlapped = 0  # violations given to more than one request

    def read(self, log):
        in_flight = []  # requests received, in order, since the proxy was last idle
        open_count = 0
        for line in log:
            found = RECEIVED.search(line)
            if found:
                if open_count == 0:
                    in_flight = []
                in_flight.append(operation(found.group(1), found.group(2)))
                open_count += 1
                op, tenant = in_flight[-1]
                if tenant != self.canary_tenant or tenant is None:
                    self.requests[op] += 1
                continue
            found = TERMINATED.search(line)
            if found:
                open_count = max(0, open_count - 1)
                op, _ = operation(found.group(1), found.group(2))
                self.failures[(op, "Prism could not handle it: " + found.group(3))] += 1
                continue
            if ANSWERED.search(line):
                open_count = max(0, open_count - 1)
                continue
            found = VIOLATION.search(line)
            if found:
                self.violation(found.group(2), in_flight)

    def violation(self, text, in_flight):
        candidates = in_flight[-1:] if len(in_flight) == 1 else in_flight
        if not candidates:
            self.failures[("(before any request)", text)] += 1
            return
        if len(candidates) > 1:
            self.overlapped += 1
        ops = " | ".join(OrderedDict.fromkeys(op for op, _ in candidates))
        canary = all(t == self.canary_tenant and t is not None for _, t in candidates)
        request_side = text.startswith("request")
        quirk = (
            request_side
            and QUIRK.match(text) is not None
            and all(op in QUIRK_OPERATIONS for op, _ in candidates)
        )
        if canary:
            if quirk:
                self.canary_quirks += 1
            elif request_side:
                self.canary[text] += 1
        elif quirk:
            self.quirks[ops] += 1
        elif request_side:
            self.failures[(ops, text)] += 1
        else:
            self.responses[(ops, INDEX.sub("[]", text))] += 1

    def print(self, expect, out):
        ok = True
        print("requests through the proxies:", file=out)
        for op, n in sorted(self.requests.items()):
            print(f"  {n:6d}  {op}", file=out)
        for op in expect:
            if self.requests[op] == 0:
                print(f"MISSING: no {op} went through the proxies", file=out)
                ok = False
        if self.overlapped:
            print(f"note: {self.overlapped} violation(s) came while requests overlapped; each is "
                  "given to all the requests then in flight", file=out)
        total = sum(self.failures.values())
        print(f"request side: {total} violation(s) outside the documented quirk", file=out)
        for (op, text), n in sorted(self.failures.items()):
            print(f"  VIOLATION {n:6d}  {op}: {text}", file=out)
        ok = ok and total == 0
        for op, n in sorted(self.quirks.items()):
            print(f"  allowed quirk {n:6d}  {op}: request.body.metadata.payload.<key> must be "
                  "object (doc-style string/list values)", file=out)
        print(f"response side (reported, not failed): {sum(self.responses.values())} "
              "violation(s)", file=out)
        for (op, text), n in sorted(self.responses.items()):
            mark = "  [the metadata.payload quirk]" if REPLY_QUIRK.match(text) else ""
            print(f"  {n:6d}  {op}: {text}{mark}", file=out)
        if self.canary_tenant is not None:
            caught = sum(self.canary.values())
            print(f"canary (tenant {self.canary_tenant}, broken on purpose): {caught} request-side "
                  f"violation(s) caught, {self.canary_quirks} allowed as the quirk", file=out)
            for text, n in sorted(self.canary.items()):
                print(f"  caught {n:6d}  {text}", file=out)
            if caught == 0 or self.canary_quirks == 0:
                print("CANARY NOT HANDLED: the canary's bad fields must be caught and its "
                      "doc-style payload allowed; the check cannot be trusted", file=out)
                ok = False
        return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canary-tenant")
    parser.add_argument("--expect", action="append", default=[])
    parser.add_argument("logs", nargs="+")
    args = parser.parse_args()
    report = Report(args.canary_tenant)
    for path in args.logs:
        try:
            with open(path, encoding="utf-8", errors="replace") as log:
                report.read(log)
        except OSError as err:
            print(f"check-log.py: {path}: {err}", file=sys.stderr)
            return 2
    return 0 if report.print(args.expect, sys.stdout) else 1


if __name__ == "__main__":
    sys.exit(main())
