#!/usr/bin/env python3
"""A tiny page server for the headless-Chromium harness (tools/browser/run.sh).

It serves the files of tools/browser/pages/ over http://127.0.0.1:PORT/ (a secure context, which
Chromium needs before it gathers ICE candidates) and gives the page three ways to talk back:

  POST /result        the scenario's JSON result; written to --result and the server exits
                      (exit status 0), which is how run.sh knows the scenario is over.
  POST /result/<name> a secondary JSON result (e.g. from a second browser in the same run);
                      written to result-<name>.json beside --result; the server keeps running.
  POST /log           one line of text, printed to stderr with a "page:" prefix.
  POST /msg/<chan>    append a message (any bytes) to a bounded in-memory queue <chan>;
  GET  /msg/<chan>    take the oldest message of <chan>, waiting up to ?wait=SECONDS (<= 30)
                      for one; 204 when none came. Signaling between the page and a native peer
                      (an offer one way, an answer the other) runs through these mailboxes; the
                      test side uses the same URLs with curl or python.

The server binds port 0 (the kernel picks a free port, so parallel runs never collide) and writes the
chosen port to --port-file. It stops by itself after --lifetime seconds in any case, so a page that
never reports cannot keep it alive. Only 127.0.0.1 is served. Standard library only.
"""
import argparse
import http.server
import json
import os
import socketserver
import sys
import threading
import time
import urllib.parse

MAX_BODY = 1 << 20          # bytes; a page result or a signaling message is a few KB
MAX_QUEUE = 64              # messages per mailbox
MAX_CHANNELS = 32

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


class State:
    def __init__(self, result_path):
        self.result_path = result_path
        self.cond = threading.Condition()
        self.queues = {}
        self.done = False


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "cwebrtc-harness/1"

    def log_message(self, fmt, *args):  # keep stderr for page logs only
        if os.environ.get("HARNESS_VERBOSE"):
            sys.stderr.write("server: " + (fmt % args) + "\n")

    def _reply(self, code, body=b"", ctype="text/plain; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n)

    def _channel(self, path):
        chan = path[len("/msg/"):]
        if not chan or len(chan) > 64 or not all(c.isalnum() or c in "-_." for c in chan):
            return None
        return chan

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        st = self.server.state
        if url.path.startswith("/msg/"):
            chan = self._channel(url.path)
            if chan is None:
                return self._reply(400, b"bad channel\n")
            q = urllib.parse.parse_qs(url.query)
            try:
                wait = min(30.0, max(0.0, float(q.get("wait", ["0"])[0])))
            except ValueError:
                wait = 0.0
            deadline = time.monotonic() + wait
            with st.cond:
                while not st.queues.get(chan):
                    left = deadline - time.monotonic()
                    if left <= 0 or st.done:
                        return self._reply(204)
                    st.cond.wait(left)
                msg = st.queues[chan].pop(0)
            return self._reply(200, msg, "application/octet-stream")
        name = url.path.lstrip("/") or "index.html"
        if "/" in name or name.startswith("."):
            return self._reply(404, b"not found\n")
        path = os.path.join(self.server.pages, name)
        if not os.path.isfile(path):
            return self._reply(404, b"not found\n")
        with open(path, "rb") as f:
            data = f.read()
        ctype = CONTENT_TYPES.get(os.path.splitext(name)[1], "application/octet-stream")
        return self._reply(200, data, ctype)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        st = self.server.state
        body = self._body()
        if body is None:
            return self._reply(413, b"too large\n")
        if url.path == "/log":
            sys.stderr.write("page: " + body.decode("utf-8", "replace").rstrip("\n") + "\n")
            sys.stderr.flush()
            return self._reply(200, b"ok\n")
        if url.path == "/result" or url.path.startswith("/result/"):
            try:
                json.loads(body)
            except ValueError:
                return self._reply(400, b"result must be JSON\n")
            path = st.result_path
            if url.path != "/result":
                name = url.path[len("/result/"):]
                if not name or len(name) > 32 or not all(c.isalnum() or c in "-_" for c in name):
                    return self._reply(400, b"bad result name\n")
                path = os.path.join(os.path.dirname(st.result_path), "result-%s.json" % name)
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(body)
            os.replace(tmp, path)
            self._reply(200, b"ok\n")
            if url.path != "/result":
                return None
            with st.cond:
                st.done = True
                st.cond.notify_all()
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return None
        if url.path.startswith("/msg/"):
            chan = self._channel(url.path)
            if chan is None:
                return self._reply(400, b"bad channel\n")
            with st.cond:
                if chan not in st.queues and len(st.queues) >= MAX_CHANNELS:
                    return self._reply(429, b"too many channels\n")
                q = st.queues.setdefault(chan, [])
                if len(q) >= MAX_QUEUE:
                    return self._reply(429, b"queue full\n")
                q.append(body)
                st.cond.notify_all()
            return self._reply(200, b"ok\n")
        return self._reply(404, b"not found\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", required=True, help="directory of pages to serve")
    ap.add_argument("--result", required=True, help="file that receives the POSTed result")
    ap.add_argument("--port-file", required=True, help="file that receives the bound port")
    ap.add_argument("--lifetime", type=float, default=120.0, help="seconds before giving up")
    args = ap.parse_args()

    srv = Server(("127.0.0.1", 0), Handler)
    srv.pages = os.path.abspath(args.pages)
    srv.state = State(args.result)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, args.port_file)

    timer = threading.Timer(args.lifetime, srv.shutdown)
    timer.daemon = True
    timer.start()
    srv.serve_forever(poll_interval=0.2)
    timer.cancel()
    srv.server_close()
    sys.exit(0 if srv.state.done else 3)


if __name__ == "__main__":
    main()
