#!/usr/bin/env python3
"""Load: many concurrent devices pushing and pulling against the real closeloop-server on loopback.

    load_test.py SERVER_BINARY [--devices 50] [--seconds 10] [--procs 5] [--seed N]
    CLOSELOOP_LONG=1 -> 60 s

Each device is signed in as its own agent (5 teams, so pulls filter by team), keeps one keep-alive
connection, and loops: make 1-10 events, push them, pull from its cursor. The devices run as threads
in several processes (so the Python client is not the bottleneck on one core). Fails on any non-200,
transport error, rejected event, or "database is locked"; afterwards every acknowledged event must be on
the server. Prints one JSON line with p50/p99 latency and throughput on stdout.
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relcommon as rc  # noqa: E402

N_TEAMS = 5


def worker(port, devs, seconds, seed, out_q, start_at):
    """One process: a thread per device. Sends back latencies, counts, errors and acked ids."""
    results = {"push": [], "pull": [], "errors": [], "acked": {}, "events_pushed": 0, "events_pulled": 0}
    lock = threading.Lock()

    def run(name, user, token, team):
        d = rc.Device(name, user, random.Random(seed), team=team)
        d.token, d.port = token, port
        push_l, pull_l, errs = [], [], []
        pulled = 0
        while time.time() < start_at:
            time.sleep(0.01)
        end = time.time() + seconds
        t_start = time.time()
        while time.time() < end:
            op = "push"
            try:
                d.generate(d.rng.randint(1, 10))
                n_before = len(d.pending)
                r = d.push(max_batch=50, timeout=30)
                if r:
                    push_l.append(r[1])
                    if r[0] != 200:
                        errs.append("push %d" % r[0])
                if d.pending and len(d.pending) >= n_before:
                    errs.append("push left %d pending" % len(d.pending))
                op = "pull"
                known_before = len(d.known)
                st, dt, more = d.pull(limit=500, timeout=30)
                pull_l.append(dt)
                pulled += len(d.known) - known_before
                if st != 200:
                    errs.append("pull %d" % st)
            except OSError as e:
                errs.append("transport (%s at %.2f s, device %s): %s" % (op, time.time() - t_start, name, e))
                time.sleep(0.05)
        errs.extend(d.unexpected)
        d.close()
        with lock:
            results["push"].extend(push_l)
            results["pull"].extend(pull_l)
            results["errors"].extend(errs)
            results["acked"].update(d.acked)
            results["events_pushed"] += len(d.acked)
            results["events_pulled"] += pulled

    threads = [threading.Thread(target=run, args=dv) for dv in devs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out_q.put(results)


def thp_fallbacks():
    """The kernel's count of huge-page faults served with small pages instead (0 if unknown)."""
    try:
        with open("/proc/vmstat") as f:
            for line in f:
                if line.startswith("thp_fault_fallback "):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    long_mode = os.environ.get("CLOSELOOP_LONG") == "1"
    ap.add_argument("--devices", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60 if long_mode else 10)
    ap.add_argument("--procs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CLOSELOOP_SEED", "0")) or None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    rc.log("load_test: seed=%d devices=%d seconds=%s" % (seed, args.devices, args.seconds))
    fail = rc.Failures()
    srv = rc.Server(args.binary)
    figures = {"test": "load", "seed": seed, "devices": args.devices, "seconds": args.seconds}
    try:
        fallbacks_before = thp_fallbacks()
        srv.start()
        # The server starts itself again, once, with glibc's huge-page heap (server/main.cpp).
        with open("/proc/%d/environ" % srv.proc.pid, "rb") as f:
            env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        fail.check(b"glibc.malloc.hugetlb=1" in env.get(b"GLIBC_TUNABLES", b""),
                   "load: server runs without the huge-page heap tunable (GLIBC_TUNABLES=%r)" % env.get(b"GLIBC_TUNABLES"))
        admin = rc.login(srv.port, "admin", rc.ADMIN_PASSWORD)
        devs = []
        for i in range(args.devices):
            user = "load%d" % i
            team = "team%d" % (i % N_TEAMS)
            rc.create_user(srv.port, admin, user, teams=(team,))
            devs.append(("ld%d" % i, user, rc.login(srv.port, user, rc.USER_PASSWORD), team))
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        start_at = time.time() + 0.5
        procs = []
        for p in range(args.procs):
            mine = devs[p::args.procs]
            procs.append(ctx.Process(target=worker, args=(srv.port, mine, args.seconds, seed * 100 + p, q, start_at)))
        for p in procs:
            p.start()
        results = [q.get(timeout=args.seconds + 120) for _ in procs]
        for p in procs:
            p.join(30)
        wall = args.seconds
        push = sorted(x for r in results for x in r["push"])
        pull = sorted(x for r in results for x in r["pull"])
        both = sorted(push + pull)
        errors = [e for r in results for e in r["errors"]]
        acked = {}
        for r in results:
            acked.update(r["acked"])
        for e in errors[:10]:
            fail.add("load: " + e)
        fail.check(not errors, "load: %d errors" % len(errors))
        # Under load the heap sits on transparent huge pages, where the system offers them (a
        # kernel short of free huge pages falls back to small ones: counted in thp_fault_fallback).
        thp = open("/sys/kernel/mm/transparent_hugepage/enabled").read() if os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled") else "[never]"
        huge_kb = 0
        with open("/proc/%d/smaps_rollup" % srv.proc.pid) as f:
            for line in f:
                if line.startswith("AnonHugePages:"):
                    huge_kb = int(line.split()[1])
        figures["anon_huge_pages_mb"] = round(huge_kb / 1024, 1)
        fallbacks = thp_fallbacks() - fallbacks_before
        if "[never]" not in thp and fallbacks == 0:
            fail.check(huge_kb > 0, "load: no heap on huge pages after the load (AnonHugePages 0, THP %s)" % thp.strip())
        events, _, _ = rc.pull_all(srv.port, admin)
        missing = [i for i, s in acked.items() if i not in events or events[i][0] != s]
        fail.check(not missing, "load: %d acknowledged events missing/with another seq (e.g. %s)" % (len(missing), missing[:3]))
        log = srv.log_text()
        fail.check("database is locked" not in log and "SQLITE_BUSY" not in log, "load: 'database is locked' in the server log")
        code = srv.stop()
        fail.check(code == 0, "load: graceful stop exit code %s" % code)
        ic = rc.sqlite_cli(srv.db, "PRAGMA integrity_check;")
        fail.check(ic == "ok", "load: integrity_check %s" % ic[:200])
        ms = lambda v: round(v * 1000, 1)  # noqa: E731
        figures.update({
            "requests": len(both),
            "errors": len(errors),
            "req_per_s": round(len(both) / wall, 1),
            "events_acknowledged": len(acked),
            "events_per_s": round(len(acked) / wall, 1),
            "events_pulled": sum(r["events_pulled"] for r in results),
            "p50_ms": ms(rc.percentile(both, 50)), "p99_ms": ms(rc.percentile(both, 99)), "max_ms": ms(both[-1] if both else 0),
            "push_p50_ms": ms(rc.percentile(push, 50)), "push_p99_ms": ms(rc.percentile(push, 99)),
            "pull_p50_ms": ms(rc.percentile(pull, 50)), "pull_p99_ms": ms(rc.percentile(pull, 99)),
            "server_events": len(events),
        })
    except Exception as e:
        import traceback
        traceback.print_exc()
        fail.add("harness error: %r" % e)
        rc.log(srv.log_tail())
    finally:
        srv.cleanup()
    figures["failures"] = len(fail.items)
    figures["ok"] = not fail
    print(json.dumps(figures))
    if fail:
        rc.log("load_test: FAILED (%d) seed=%d" % (len(fail.items), seed))
        for f in fail.items[:20]:
            rc.log("  -", f)
        return 1
    rc.log("load_test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
