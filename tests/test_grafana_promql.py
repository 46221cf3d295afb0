#!/usr/bin/python3
"""test_grafana_promql.py — every PromQL expression of docs/grafana/timekeeper.json is valid:
they are extracted, Grafana's variables replaced by plain values, wrapped in a rules file and
checked by `promtool check rules`. Every timekeeper_* metric the dashboard uses is documented in
docs/metrics.md.

    test_grafana_promql.py SOURCE_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile

src = sys.argv[1]
dash = json.load(open(os.path.join(src, "docs/grafana/timekeeper.json")))

exprs = []
def walk(panels):
    for p in panels:
        for t in p.get("targets", []):
            if t.get("expr"):
                exprs.append((p.get("title", "?"), t["expr"]))
        walk(p.get("panels", []))
walk(dash["panels"])
assert len(exprs) >= 8, "expected the dashboard's expressions, found %d" % len(exprs)

# Grafana's variables, as a query would see them
subst = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h",
         "$process": ".*", "$job": ".*"}
def plain(e):
    for k, v in subst.items():
        e = e.replace(k, v)
    assert "$" not in e, "unknown variable left in: " + e
    return e

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "dashboard-rules.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, (_, e) in enumerate(exprs):
            f.write("      - record: timekeeper:dashboard:expr%d\n        expr: %s\n"
                    % (i, json.dumps(plain(e))))
    r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    if r.returncode != 0:
        print(open(path).read())
        print(r.stdout, r.stderr)
        sys.exit("promtool check rules refused the dashboard's PromQL")

doc = open(os.path.join(src, "docs/metrics.md")).read()
names = set()
for _, e in exprs:
    names.update(re.findall(r"\btimekeeper_[a-z_]+", e))
for n in sorted(names):
    base = re.sub(r"_(bucket|count|sum)$", "", n)
    assert base in doc, "%s is used by the dashboard but not documented in docs/metrics.md" % base
print("grafana: %d expressions valid, %d metric names documented" % (len(exprs), len(names)))
