#!/usr/bin/python3
"""otlp_check.py — prints a summary of one stored OTLP/HTTP body, one line per metric, span and
resource attribute, so that a test can compare it with what it exported.

usage: otlp_check.py [--node NODE_MODULES] PROTO_DIR FILE

FILE is NNNN-metrics.bin / NNNN-traces.bin (decoded with `protoc --decode` against
PROTO_DIR/otlp.proto, or with the JavaScript decoder when --node is given) or .json (OTLP JSON).
Lines:  R key value | M name timer expo count=C buckets=B zero=Z scale=S temporality=T
        | M name timer sum|gauge value=V temporality=T [@key=value ...] (other point attributes) | S name trace span start end
"""
import json
import re
import subprocess
import sys


def unescape(s):
    """protoc text-format string literal body to bytes."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            n = s[i + 1]
            if n in "01234567":
                j = i + 1
                while j < len(s) and j < i + 4 and s[j] in "01234567":
                    j += 1
                out.append(int(s[i + 1:j], 8))
                i = j
                continue
            if n == "x":
                m = re.match(r"[0-9a-fA-F]{1,2}", s[i + 2:])
                out.append(int(m.group(0), 16))
                i += 2 + len(m.group(0))
                continue
            out.extend({"n": b"\n", "r": b"\r", "t": b"\t"}.get(n, n.encode()))
            i += 2
            continue
        out.extend(c.encode())
        i += 1
    return bytes(out)


def parse_text(text):
    """protoc --decode output to nested dicts of lists."""
    stack = [{}]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
            continue
        if line.endswith("{"):
            d = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(d)
            stack.append(d)
            continue
        key, value = line.split(":", 1)
        value = value.strip()
        if value.startswith('"'):
            value = unescape(value[1:-1])
        stack[-1].setdefault(key, []).append(value)
    return stack[0]


def snake(obj):
    if isinstance(obj, list):
        return [snake(x) for x in obj]
    if isinstance(obj, dict):
        return {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): snake(v)
                for k, v in obj.items()}
    return obj


def many(d, k):
    v = d.get(k, [])
    return v if isinstance(v, list) else [v]


def one(d, k, default=None):
    v = many(d, k)
    return v[0] if v else default


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def hexid(v):
    return v.hex() if isinstance(v, bytes) else str(v)


def attr_value(kv):
    av = one(kv, "value", {})
    for k in ("string_value", "int_value", "double_value", "bool_value"):
        if k in av:
            return text(one(av, k))
    return ""


def attrs(d):
    return {text(one(kv, "key")): attr_value(kv) for kv in many(d, "attributes")}


def summarize(req):
    out = []
    for rx in many(req, "resource_metrics") + many(req, "resource_spans"):
        for k, v in sorted(attrs(one(rx, "resource", {})).items()):
            out.append("R %s %s" % (k, v))
        for sm in many(rx, "scope_metrics"):
            for m in many(sm, "metrics"):
                name = text(one(m, "name"))
                if "exponential_histogram" in m:
                    eh = one(m, "exponential_histogram")
                    for dp in many(eh, "data_points"):
                        pos = one(dp, "positive", {})
                        buckets = sum(int(x) for x in many(pos, "bucket_counts"))
                        out.append("M %s %s expo count=%s buckets=%d zero=%s scale=%s temporality=%s"
                                   " start=%s time=%s" % (
                            name, attrs(dp).get("timer", ""), one(dp, "count", 0), buckets,
                            one(dp, "zero_count", 0), one(dp, "scale", 0),
                            one(eh, "aggregation_temporality", 0),
                            one(dp, "start_time_unix_nano", 0), one(dp, "time_unix_nano", 0)))
                for kind in ("sum", "gauge"):
                    if kind in m:
                        s = one(m, kind)
                        for dp in many(s, "data_points"):
                            v = one(dp, "as_int", one(dp, "as_double", 0))
                            a = attrs(dp)
                            more = "".join(" @%s=%s" % (k, str(x).replace(" ", "_"))
                                           for k, x in sorted(a.items()) if k != "timer")
                            out.append("M %s %s %s value=%s temporality=%s%s" % (
                                name, a.get("timer", ""), kind, v,
                                one(s, "aggregation_temporality", 0), more))
        for ss in many(rx, "scope_spans"):
            for s in many(ss, "spans"):
                out.append("S %s %s %s %s %s" % (text(one(s, "name")), hexid(one(s, "trace_id")),
                                                 hexid(one(s, "span_id")),
                                                 one(s, "start_time_unix_nano"),
                                                 one(s, "end_time_unix_nano")))
    return out


def main():
    args = sys.argv[1:]
    node = None
    if args[0] == "--node":
        node = args[1]
        args = args[2:]
    proto_dir, path = args
    kind = "metrics" if "metrics" in path.rsplit("/", 1)[-1] else "traces"
    if path.endswith(".json"):
        with open(path) as f:
            req = snake(json.load(f))
    elif node:
        js = subprocess.run(["node", proto_dir + "/../../otlp_decode.js", node, kind, path],
                            check=True, capture_output=True, text=True).stdout
        req = snake(json.loads(js))
    else:
        msg = "tkotlp.ExportMetricsServiceRequest" if kind == "metrics" else "tkotlp.ExportTraceServiceRequest"
        with open(path, "rb") as f:
            dec = subprocess.run(["protoc", "-I", ".", "--decode=" + msg, "otlp.proto"],
                                 stdin=f, check=True, capture_output=True, cwd=proto_dir)
        req = parse_text(dec.stdout.decode("utf-8", "replace"))
    for line in summarize(req):
        print(line)


if __name__ == "__main__":
    main()
