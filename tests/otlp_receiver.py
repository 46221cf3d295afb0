#!/usr/bin/python3
"""otlp_receiver.py — an OTLP/HTTP receiver for the tests: binds 127.0.0.1 on a free port, stores
every request it gets, and answers from a script of statuses.

usage: otlp_receiver.py DIR [SCRIPT]

Writes the port to DIR/port once listening. Each request is stored as DIR/NNNN-metrics.bin (or
-traces, .json for JSON bodies) and logged as one line of DIR/log: "seq path status monotonic_s
length content_type". SCRIPT is a comma list of STATUS[xCOUNT][@RETRY_AFTER] answered in order (the
last entry then repeats), e.g. "503x2@1,200"; default "200".
"""
import http.server
import os
import sys
import threading
import time


def parse_script(text):
    steps = []
    for item in text.split(","):
        retry_after = None
        if "@" in item:
            item, retry_after = item.split("@", 1)
        count = 1
        if "x" in item:
            item, count = item.split("x", 1)
            count = int(count)
        steps.append((int(item), count, retry_after))
    return steps


class State:
    def __init__(self, out, script):
        self.out = out
        self.steps = parse_script(script)
        self.seq = 0
        self.lock = threading.Lock()

    def next_answer(self):
        with self.lock:
            n = self.seq
            self.seq += 1
        for status, count, retry_after in self.steps:
            if n < count:
                return n, status, retry_after
            n -= count
        status, _, retry_after = self.steps[-1]
        return self.seq - 1, status, retry_after


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        seq, status, retry_after = state.next_answer()
        kind = "metrics" if self.path.endswith("/v1/metrics") else "traces" if self.path.endswith("/v1/traces") else "other"
        ctype = self.headers.get("Content-Type", "")
        ext = "json" if "json" in ctype else "bin"
        if status == 200:
            with open(os.path.join(state.out, "%04d-%s.%s" % (seq, kind, ext)), "wb") as f:
                f.write(body)
        with state.lock, open(os.path.join(state.out, "log"), "a") as f:
            extra = " ".join("%s=%s" % (k.lower(), v) for k, v in self.headers.items()
                             if k.lower().startswith("x-"))
            f.write("%d %s %d %.6f %d %s %s\n" % (seq, self.path, status, time.monotonic(), length,
                                                  ctype, extra))
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        reply = b"{}" if ext == "json" else b""
        self.send_header("Content-Type", ctype or "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def main():
    out = sys.argv[1]
    script = sys.argv[2] if len(sys.argv) > 2 else "200"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.state = State(out, script)
    with open(os.path.join(out, "port.tmp"), "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(os.path.join(out, "port.tmp"), os.path.join(out, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
