"""Shared helpers for the reliability harness (python3 standard library only).

Starts the REAL closeloop-server binary on a free loopback port with a temp data dir, talks to it
over HTTP, builds valid wire events (shared/domain/event.h, docs/protocol.md) and simulates devices.
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3  # noqa: F401  (not used for checks: the sqlite3 CLI is, as the brief asks)
import subprocess
import sys
import tempfile
import threading
import time

ADMIN_PASSWORD = "rel-admin-password-123"
USER_PASSWORD = "rel-user-password-123"
TEAM = "rel"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def now_ms():
    return int(time.time() * 1000)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Failures:
    """Collects check failures (a test passes when this stays empty)."""

    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def add(self, msg):
        with self.lock:
            if len(self.items) < 200:
                self.items.append(msg)
        log("FAIL:", msg)

    def check(self, cond, msg):
        if not cond:
            self.add(msg)
        return cond

    def __bool__(self):
        return bool(self.items)


class Server:
    """One closeloop-server process; restartable on the same data dir and port."""

    def __init__(self, binary, data_dir=None, static_dir=None, port=None, extra_args=()):
        self.binary = os.path.abspath(binary)
        self.tmp = tempfile.mkdtemp(prefix="closeloop-rel-")
        self.data = data_dir or os.path.join(self.tmp, "data")
        self.static = static_dir
        self.port = port or free_port()
        self.extra = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.tmp, "server.log")
        self.starts = 0

    @property
    def db(self):
        return os.path.join(self.data, "closeloop.db")

    def start(self, timeout=20.0):
        env = dict(os.environ)
        env["CLOSELOOP_TEST_FAST_HASH"] = "1"
        env["CLOSELOOP_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        args = [self.binary, "--host", "127.0.0.1", "--port", str(self.port), "--data", self.data,
                "--sweep-interval", "0"]
        if self.static:
            args += ["--static", self.static]
        args += self.extra
        logf = open(self.log_path, "ab")
        for attempt in range(3):
            self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=self.tmp)
            self.starts += 1
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    st, _, _ = request(self.port, "GET", "/healthz", timeout=2)
                    if st == 200:
                        logf.close()
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            # The port may have been taken between free_port() and bind (rare): try another one.
            self.port = free_port()
        logf.close()
        raise RuntimeError("server did not start; log:\n" + self.log_tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self, timeout=15):
        """Graceful stop (SIGTERM). Returns the exit code (None when it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        self.kill9()
        shutil.rmtree(self.tmp, ignore_errors=True)


def request(port, method, path, body=None, token=None, headers=None, timeout=30, conn=None):
    """One HTTP request. Returns (status, body bytes, headers dict lower-cased). Raises OSError on
    transport errors (connection refused/reset, timeout)."""
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = {}
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if body is not None:
        h["Content-Type"] = "application/json"
    if headers:
        h.update(headers)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return r.status, data, {k.lower(): v for k, v in r.getheaders()}
    except (http.client.HTTPException, OSError) as e:
        try:
            c.close()
        except Exception:
            pass
        raise OSError(str(e) or type(e).__name__) from e
    finally:
        if own:
            c.close()


def jrequest(port, method, path, body=None, token=None, timeout=30):
    st, data, _ = request(port, method, path, body, token, timeout=timeout)
    try:
        return st, json.loads(data.decode("utf-8")) if data else None
    except ValueError:
        return st, None


def login(port, user, password):
    st, j = jrequest(port, "POST", "/api/v1/auth/login", {"username": user, "password": password})
    if st != 200:
        raise RuntimeError("login %s -> %s %s" % (user, st, j))
    return j["token"]


def create_user(port, admin_token, name, role="agent", teams=(TEAM,)):
    st, j = jrequest(port, "POST", "/api/v1/admin/users",
                     {"name": name, "role": role, "teams": list(teams), "password": USER_PASSWORD}, admin_token)
    if st not in (201, 409):
        raise RuntimeError("create user %s -> %s %s" % (name, st, j))


def pull_all(port, token, after=0, limit=5000):
    """Every event and tombstone after `after` visible to token: (events {id: (seq, event)}, tombstones, cursor)."""
    events, tombs = {}, []
    cursor = after
    for _ in range(100000):
        st, j = jrequest(port, "GET", "/api/v1/sync/pull?after=%d&limit=%d" % (cursor, limit), token=token)
        if st != 200:
            raise RuntimeError("pull -> %s %s" % (st, j))
        for item in j["events"]:
            e = item["event"]
            events[e["id"]] = (item["seq"], e)
        tombs.extend(j["tombstones"])
        if j["cursor"] < cursor:
            raise RuntimeError("pull cursor went backwards: %s < %s" % (j["cursor"], cursor))
        cursor = j["cursor"]
        if not j["more"]:
            break
    return events, tombs, cursor


def sqlite_cli(db_path, sql, timeout=60):
    """Runs the sqlite3 CLI (as the brief asks) and returns stdout stripped."""
    r = subprocess.run(["sqlite3", "-batch", db_path, sql], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("sqlite3 %s: %s" % (sql, r.stderr.strip()))
    return r.stdout.strip()


def snapshot_db(db_path, dest_dir):
    """Copies the database as a crashed process left it (db + WAL), so checks do not alter the files
    the restarted server will recover from."""
    os.makedirs(dest_dir, exist_ok=True)
    out = os.path.join(dest_dir, "snap.db")
    for suffix in ("", "-wal"):
        src = db_path + suffix
        dst = out + suffix
        if os.path.exists(dst):
            os.remove(dst)
        if os.path.exists(src):
            shutil.copyfile(src, dst)
    if os.path.exists(out + "-shm"):
        os.remove(out + "-shm")
    return out


def percentile(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    k = (len(sorted_vals) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


# ---- simulated device ---------------------------------------------------------------------------

STATUSES = ["in_progress", "awaiting_client"]
PRIORITIES = ["low", "normal", "high", "urgent"]


class Device:
    """A simulated offline-first device: makes events locally, pushes pending ones (retrying until
    acknowledged) and pulls everything its user can read."""

    def __init__(self, name, user, rng, team=TEAM):
        self.name = name          # device id
        self.user = user          # user id (= author)
        self.team = team
        self.rng = rng
        self.token = None
        self.counter = 0
        self.hlc = 0
        self.lc = 0
        self.case_n = 0
        self.pending = []         # events not yet acknowledged, in creation order
        self.acked = {}           # id -> seq from the push acks
        self.sent = {}            # id -> event as made
        self.refs = {}            # case id -> FF reference from a push answer
        self.known = {}           # id -> (seq, event) pulled from the server
        self.cursor = 0
        self.cases = []           # case ids this device knows were created (own + pulled)
        self.conn = None
        self.port = None
        self.errors = 0           # transport errors seen (expected while the server is down)
        self.unexpected = []      # protocol-level surprises (rejections, 5xx)

    def stamp(self):
        w = now_ms()
        if w > self.hlc:
            self.hlc, self.lc = w, 0
        else:
            self.lc += 1
        return self.hlc, self.lc

    def make_event(self, case_id, etype, body):
        self.counter += 1
        h, lc = self.stamp()
        e = {"id": "%s:%d" % (self.name, self.counter), "device": self.name, "counter": self.counter, "hlc": h,
             "lc": lc, "case": case_id, "team": self.team, "author": self.user, "type": etype, "v": 1,
             "body": body}
        self.pending.append(e)
        self.sent[e["id"]] = e
        return e

    def new_case(self, client="Client", text_extra=""):
        self.case_n += 1
        cid = "c-%s-%d" % (self.name, self.case_n)
        body = {"kind": self.rng.choice(["feedback", "aftercare", "follow_up"]),
                "client": {"name": "%s %s-%d" % (client, self.name, self.case_n), "channel": "email"},
                "description": "Case %d from %s%s" % (self.case_n, self.name, text_extra)}
        self.make_event(cid, "case.created", body)
        self.cases.append(cid)
        return cid

    def random_edit(self, cid):
        r = self.rng.random()
        if r < 0.4:
            return self.make_event(cid, "note.added", {"text": "note %d by %s" % (self.counter + 1, self.name)})
        if r < 0.7:
            return self.make_event(cid, "field.set", {"field": "priority", "value": self.rng.choice(PRIORITIES)})
        if r < 0.85:
            return self.make_event(cid, "field.set", {"field": "title", "value": "title %s %d" % (self.name, self.counter + 1)})
        return self.make_event(cid, "status.changed", {"to": self.rng.choice(STATUSES)})

    def generate(self, n):
        """n new local events: new cases and edits of known cases (own or pulled from others)."""
        for _ in range(n):
            if not self.cases or self.rng.random() < 0.25:
                self.new_case()
            else:
                # only edit cases whose creation this device holds (own or pulled)
                self.random_edit(self.rng.choice(self.cases))

    def _req(self, method, path, body=None, timeout=10):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            return request(self.port, method, path, body, self.token, timeout=timeout, conn=self.conn)
        except OSError:
            self.conn = None
            raise

    def push(self, max_batch=200, timeout=10):
        """Pushes up to max_batch pending events. Returns (status, latency s, n sent) or raises OSError."""
        if not self.pending:
            return None
        batch = self.pending[:max_batch]
        body = {"protocol": 1, "device": self.name, "events": batch}
        t0 = time.monotonic()
        st, data, _ = self._req("POST", "/api/v1/sync/push", body, timeout)
        dt = time.monotonic() - t0
        if st != 200:
            self.unexpected.append("push -> %d %s" % (st, data[:300]))
            return st, dt, len(batch)
        j = json.loads(data.decode("utf-8"))
        acked_now = set()
        for eid, seq in j.get("acks", []):
            if eid in self.acked and self.acked[eid] != seq:
                self.unexpected.append("ack of %s changed seq %d -> %d" % (eid, self.acked[eid], seq))
            self.acked[eid] = seq
            acked_now.add(eid)
        for rej in j.get("rejected", []):
            if rej.get("code") != "unavailable":
                self.unexpected.append("rejected %s: %s %s" % (rej.get("id"), rej.get("code"), rej.get("reason")))
        for cid, ref in j.get("refs", {}).items():
            if cid in self.refs and self.refs[cid] != ref:
                self.unexpected.append("reference of %s changed %s -> %s" % (cid, self.refs[cid], ref))
            self.refs[cid] = ref
        # An event that was neither acked nor rejected as final stays pending and is retried.
        final_rejected = {r["id"] for r in j.get("rejected", []) if r.get("code") != "unavailable"}
        self.pending = [e for e in self.pending if e["id"] not in acked_now and e["id"] not in final_rejected]
        return st, dt, len(batch)

    def pull(self, limit=1000, timeout=10):
        """One pull page. Returns (status, latency s, more) or raises OSError."""
        t0 = time.monotonic()
        st, data, _ = self._req("GET", "/api/v1/sync/pull?after=%d&limit=%d" % (self.cursor, limit), None, timeout)
        dt = time.monotonic() - t0
        if st != 200:
            self.unexpected.append("pull -> %d %s" % (st, data[:300]))
            return st, dt, False
        j = json.loads(data.decode("utf-8"))
        for item in j["events"]:
            e = item["event"]
            self.known[e["id"]] = (item["seq"], e)
            if e["type"] == "case.created" and e["case"] not in self.cases:
                self.cases.append(e["case"])
        self.cursor = j["cursor"]
        return st, dt, j["more"]

    def close(self):
        if self.conn:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None
