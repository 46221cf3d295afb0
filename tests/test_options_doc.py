#!/usr/bin/python3
"""test_options_doc.py — one source of truth for options: every option of every command, as its
--help lists it, appears in that command's usage line, in the man page's synopsis of the command
and in the man page's text of it; no option the man page names for a command is unknown to it; and
every measured figure of the README's cost table appears in docs/benchmarks.md. A mode of a command
with its own options (export --otlp) is checked the same way: its own --help against its own man
page entry (".B export --otlp ...").
Usage: test_options_doc.py BIN_DIR SOURCE_DIR"""
import re
import subprocess
import sys

bin_dir, src = sys.argv[1], sys.argv[2]
tk = bin_dir + "/timekeeper"


def run(*args):
    return subprocess.run([tk, *args], capture_output=True, text=True, check=True).stdout


# modes of a command with options of their own: `timekeeper CMD MODE --help` and a man entry of
# their own, ".TP\n.B CMD MODE ..."
MODES = {"export": ["--otlp"]}

top = run("--help")
commands = re.findall(r"^  ([a-z]+) ", top.split("commands:")[1], re.M)
assert commands, top
man = open(src + "/docs/timekeeper.1", encoding="utf-8").read().replace("\\-", "-")
# a command's part of the man page: from its ".TP\n.B NAME" entry to the next entry of COMMANDS
cmd_section = man.split(".SH COMMANDS")[1].split(".SH ")[0]
entries = re.split(r"^\.TP\n\.B (?=[a-z]+ )", cmd_section, flags=re.M)
by_name = {}
dup_entries = []
for e in entries[1:]:
    words = e.split()
    key = words[0]
    if len(words) > 1 and words[1] in MODES.get(key, []):
        key += " " + words[1]
    if key in by_name:
        dup_entries.append(key)
    by_name[key] = e

errors = ["man page: two entries for %s" % k for k in dup_entries]
for key in sorted(by_name):
    if key.split()[0] not in commands:
        errors.append("man page: an entry for %s, which timekeeper --help does not list" % key)
checks = [(c, [c]) for c in commands if c != "help"]
checks += [(c + " " + m, [c, m]) for c in MODES for m in MODES[c]]
for key, argv in checks:
    cmd = argv[0]
    helptext = run(*argv, "--help")
    if "options:" not in helptext:
        errors.append("timekeeper %s --help: no options: section" % key)
        continue
    usage = helptext.split("\n\n")[0]
    opts = re.findall(r"^  (?:-(\w), )?\s*--([a-z][a-z-]*)", helptext.split("options:")[1], re.M)
    if key not in by_name:
        errors.append("man page: no entry for %s" % key)
        continue
    entry = by_name[key]
    # the synopsis: the entry's first line and any further ".B NAME" lines after a .br
    lines = entry.split("\n")
    synopsis = lines[0]
    for i in range(1, len(lines) - 1, 2):
        if lines[i] == ".br" and lines[i + 1].startswith(".B " + cmd):
            synopsis += " " + lines[i + 1]
        else:
            break
    for short, name in opts:
        if name == "help":
            continue
        if "--" + name not in usage:
            errors.append("%s --help: the usage line lacks --%s" % (key, name))
        if not re.search(r"--%s\b" % re.escape(name), synopsis):
            errors.append("man page: the synopsis of %s lacks --%s" % (key, name))
        if short and not re.search(r"(^|[^\w-])-%s\b" % short, entry):
            errors.append("man page: %s does not give -%s for --%s" % (key, short, name))
    known = {n for _, n in opts} | {"help"}
    for name in set(re.findall(r"(?<![\w-])--([a-z][a-z-]*[a-z])", entry)):
        if name not in known and not any(name == c for c in commands):
            # an option of another command mentioned in passing is fine when said so
            if re.search(r"(timekeeper|\.B) (%s) [^\n]*--%s" % ("|".join(commands), name), entry) \
                    or name in ("version",):
                continue
            errors.append("man page: %s names --%s, which %s --help does not know" % (key, name, key))

# measured costs: every figure of the README's cost table comes from docs/benchmarks.md
readme = open(src + "/README.md", encoding="utf-8").read()
bench = open(src + "/docs/benchmarks.md", encoding="utf-8").read()
table = readme.split("## What it costs")[1].split("\n## ")[0]
for row in re.findall(r"^\| (.+) \| (.+) \|$", table, re.M):
    for fig in re.findall(r"[+−-]?\d[\d ]*(?:\.\d+)?\s?(?:%|ns|M records/s|MB/s|×)", row[1]):
        fig = fig.strip()
        if fig.endswith("×"):  # ratios are printed bare in the results table
            fig = fig[:-1].strip()
        if fig not in bench:
            errors.append("README cost table: '%s' (%s) is not in docs/benchmarks.md" % (fig, row[0]))

for e in errors:
    print("FAIL:", e)
sys.exit(1 if errors else 0)
