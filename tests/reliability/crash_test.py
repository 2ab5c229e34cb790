#!/usr/bin/env python3
"""Crash safety of the real closeloop-server: SIGKILL at random points while devices push.

    crash_test.py SERVER_BINARY [--seed N] [--cycles N] [--devices N]
    CLOSELOOP_LONG=1   -> 50 cycles (default 3)
    CLOSELOOP_SEED=N   -> replay a run (the seed is printed at the start)

Every cycle: D device threads (each signed in as its own agent user, one shared team) make cases and
edits and push them in batches (retrying everything not yet acknowledged) and pull, while the main
thread SIGKILLs the server after a random delay. Then:
  crash state  - a copy of the db + WAL as the killed process left them passes PRAGMA integrity_check
                 (sqlite3 CLI) and its FF counters match the references stored;
  restart      - every event whose push was acknowledged (HTTP 200 with an ack) is there, with the
                 acknowledged seq and the content sent; seqs unique; FF references unique, gap-free
                 per year, stable (= the ones push answers gave), one per created case;
  convergence  - the devices retry until nothing is pending, pull to the end; every device holds the
                 same event set as the server (all events ever made), and GET /api/v1/cases/<id> from
                 two different users answers the same case and timeline.
Prints one JSON line of figures on stdout; exit 0 when every check passed.
"""
import argparse
import json
import os
import random
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relcommon as rc  # noqa: E402

FF_RE = re.compile(r"^FF-(\d{4})-(\d{4,})$")


def device_loop(dev, stop, stats, lock):
    rng = dev.rng
    while not stop.is_set():
        try:
            if len(dev.pending) < 300:
                dev.generate(rng.randint(1, 12))
            r = dev.push(max_batch=rng.choice([5, 20, 100, 300]), timeout=5)
            if r and r[0] == 200:
                with lock:
                    stats["pushes_ok"] += 1
            if rng.random() < 0.3:
                dev.pull(limit=rng.choice([50, 500]), timeout=5)
        except OSError:
            dev.errors += 1
            time.sleep(0.02)
        except Exception as e:  # a JSON answer we cannot read is a failure, not a crash of the harness
            dev.unexpected.append("device %s: %r" % (dev.name, e))
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.02))


def list_cases(port, token):
    out = {}
    offset = 0
    while True:
        st, j = rc.jrequest(port, "GET", "/api/v1/cases?limit=1000&sort=reference&offset=%d" % offset, token=token)
        if st != 200:
            raise RuntimeError("cases -> %s %s" % (st, j))
        for c in j["cases"]:
            out[c["id"]] = c
        offset += len(j["cases"])
        if not j["cases"] or offset >= j["total"]:
            return out


def check_refs(fail, where, refs_by_case):
    """FF references unique and gap-free (1..N) per year."""
    seen = {}
    per_year = {}
    for cid, ref in refs_by_case.items():
        m = FF_RE.match(ref or "")
        if not fail.check(m is not None, "%s: case %s has no canonical reference (%r)" % (where, cid, ref)):
            continue
        fail.check(ref not in seen, "%s: reference %s given to %s and %s" % (where, ref, seen.get(ref), cid))
        seen[ref] = cid
        per_year.setdefault(m.group(1), []).append(int(m.group(2)))
    for year, nums in per_year.items():
        nums.sort()
        fail.check(nums == list(range(1, len(nums) + 1)),
                   "%s: FF-%s numbers are not 1..%d without gaps (first bad: %s)"
                   % (where, year, len(nums), next((n for i, n in enumerate(nums) if n != i + 1), None)))
    return per_year


def verify_server(fail, srv, admin_token, devices, where):
    """Acknowledged events present with their seq and content; seqs unique; FF refs."""
    events, tombs, cursor = rc.pull_all(srv.port, admin_token)
    seqs = [s for s, _ in events.values()]
    fail.check(len(seqs) == len(set(seqs)), "%s: duplicate seqs in a full pull" % where)
    acked_total = 0
    for d in devices:
        for eid, seq in d.acked.items():
            acked_total += 1
            got = events.get(eid)
            if not fail.check(got is not None, "%s: acknowledged event %s (seq %d) is missing" % (where, eid, seq)):
                continue
            fail.check(got[0] == seq, "%s: event %s acknowledged with seq %d, server has %d" % (where, eid, seq, got[0]))
            fail.check(got[1] == d.sent[eid], "%s: event %s content differs: sent %s, server %s"
                       % (where, eid, json.dumps(d.sent[eid]), json.dumps(got[1])))
    # cases with an acknowledged case.created have a reference, the one the push answered
    cases = list_cases(srv.port, admin_token)
    created = {e["case"] for _, e in events.values() if e["type"] == "case.created"}
    fail.check(set(cases) == created, "%s: case list (%d) != cases created in the log (%d)" % (where, len(cases), len(created)))
    check_refs(fail, where, {cid: c["reference"] for cid, c in cases.items()})
    for d in devices:
        for cid, ref in d.refs.items():
            c = cases.get(cid)
            if fail.check(c is not None, "%s: case %s (ref %s in a push answer) is missing" % (where, cid, ref)):
                fail.check(c["reference"] == ref, "%s: case %s answered %s, now %s" % (where, cid, ref, c["reference"]))
    # every ref.assigned event names the reference the case row holds
    for _, e in events.values():
        if e["type"] == "ref.assigned" and e["case"] in cases:
            fail.check(e["body"]["ref"] == cases[e["case"]]["reference"],
                       "%s: ref.assigned %s != case row %s" % (where, e["body"]["ref"], cases[e["case"]]["reference"]))
    return events, cases, acked_total


def check_crash_state(fail, srv, where):
    snap = rc.snapshot_db(srv.db, os.path.join(srv.tmp, "snap"))
    ic = rc.sqlite_cli(snap, "PRAGMA integrity_check;")
    fail.check(ic == "ok", "%s: integrity_check on the crashed files: %s" % (where, ic[:500]))
    fk = rc.sqlite_cli(snap, "PRAGMA foreign_key_check;")
    fail.check(fk == "", "%s: foreign_key_check: %s" % (where, fk[:500]))
    # FF counters (meta) agree with the references stored
    counters = rc.sqlite_cli(snap, "SELECT key, value FROM meta WHERE key LIKE 'ref_counter_%';")
    # The server writes case rows behind the log, so a crashed file may hold references only in
    # the ref.assigned events (the log is what counts); purged cases keep theirs in tombstones.
    refs = rc.sqlite_cli(snap, "SELECT json_extract(body, '$.ref') FROM events WHERE type = 'ref.assigned' "
                               "UNION SELECT reference FROM cases WHERE reference LIKE 'FF-%' "
                               "UNION SELECT reference FROM tombstones WHERE reference LIKE 'FF-%';")
    per_year = {}
    for r in refs.splitlines():
        m = FF_RE.match(r)
        if m:
            per_year[m.group(1)] = max(per_year.get(m.group(1), 0), int(m.group(2)))
    for line in counters.splitlines():
        key, _, val = line.partition("|")
        year = key[len("ref_counter_"):]
        fail.check(int(val) == per_year.get(year, 0),
                   "%s: meta %s=%s but the highest stored FF-%s is %d" % (where, key, val, year, per_year.get(year, 0)))
    n_events = int(rc.sqlite_cli(snap, "SELECT count(*) FROM events;") or 0)
    return n_events


def converge(fail, srv, devices, where, rng):
    """Every device retries until nothing is pending, then pulls to the end."""
    for _round in range(50):
        busy = False
        order = list(devices)
        rng.shuffle(order)
        for d in order:
            d.port = srv.port
            if d.pending:
                busy = True
                try:
                    d.push(max_batch=500)
                except OSError as e:
                    fail.add("%s: push after restart failed: %s" % (where, e))
        if not busy:
            break
    for d in devices:
        fail.check(not d.pending, "%s: device %s still has %d pending events" % (where, d.name, len(d.pending)))
        for _ in range(10000):
            st, _, more = d.pull(limit=1000)
            if st != 200 or not more:
                break


def check_convergence(fail, srv, devices, server_events, where, rng):
    all_ids = set(server_events)
    made = set()
    for d in devices:
        made |= set(d.sent)
    fail.check(made <= all_ids, "%s: %d events made by devices are not on the server after retries (e.g. %s)"
               % (where, len(made - all_ids), sorted(made - all_ids)[:3]))
    for d in devices:
        ids = set(d.known)
        if not fail.check(ids == all_ids, "%s: device %s holds %d events, server %d (missing %s, extra %s)"
                          % (where, d.name, len(ids), len(all_ids), sorted(all_ids - ids)[:3], sorted(ids - all_ids)[:3])):
            continue
        bad = [i for i in ids if d.known[i][0] != server_events[i][0] or d.known[i][1] != server_events[i][1]]
        fail.check(not bad, "%s: device %s differs from the server on %d events (e.g. %s)" % (where, d.name, len(bad), bad[:3]))
    # Same case and timeline from two users' points of view (sample of cases).
    cases = sorted({e["case"] for _, e in server_events.values()})
    for cid in rng.sample(cases, min(8, len(cases))):
        a, b = rng.sample(devices, 2) if len(devices) > 1 else (devices[0], devices[0])
        sa, ja = rc.jrequest(srv.port, "GET", "/api/v1/cases/" + cid, token=a.token)
        sb, jb = rc.jrequest(srv.port, "GET", "/api/v1/cases/" + cid, token=b.token)
        if not fail.check(sa == 200 and sb == 200, "%s: GET case %s -> %s/%s" % (where, cid, sa, sb)):
            continue
        fail.check(ja["case"] == jb["case"] and ja["events"] == jb["events"], "%s: case %s differs between users" % (where, cid))
        want = sorted(i for i, (_, e) in a.known.items() if e["case"] == cid)
        got = sorted(e["id"] for e in ja["events"])
        fail.check(want == got, "%s: case %s timeline %d events, device %s pulled %d" % (where, cid, len(got), a.name, len(want)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CLOSELOOP_SEED", "0")) or None)
    long_mode = os.environ.get("CLOSELOOP_LONG") == "1"
    ap.add_argument("--cycles", type=int, default=50 if long_mode else 3)
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--sabotage", action="store_true",
                    help="self-check: after the first kill, delete an acknowledged event and duplicate an FF "
                         "reference in the files; the run must then FAIL")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    rc.log("crash_test: seed=%d cycles=%d devices=%d (replay: CLOSELOOP_SEED=%d)" % (seed, args.cycles, args.devices, seed))
    rng = random.Random(seed)
    fail = rc.Failures()
    srv = rc.Server(args.binary)
    t_start = time.monotonic()
    figures = {"test": "crash", "seed": seed, "cycles_planned": args.cycles, "cycles_survived": 0, "devices": args.devices}
    try:
        srv.start()
        admin = rc.login(srv.port, "admin", rc.ADMIN_PASSWORD)
        devices = []
        for i in range(args.devices):
            user = "dev%d" % i
            rc.create_user(srv.port, admin, user)
            d = rc.Device("d%d" % i, user, random.Random(seed * 1000 + i))
            d.token = rc.login(srv.port, user, rc.USER_PASSWORD)
            d.port = srv.port
            devices.append(d)
        stats = {"pushes_ok": 0}
        totals = {"in_flight": 0, "committed_unacked": 0}
        lock = threading.Lock()
        for cycle in range(1, args.cycles + 1):
            where = "cycle %d" % cycle
            stop = threading.Event()
            for d in devices:
                d.port = srv.port
            threads = [threading.Thread(target=device_loop, args=(d, stop, stats, lock)) for d in devices]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 1.2))
            srv.kill9()  # mid-flight: pushes are in every state from sent to half-committed to answered
            stop.set()
            for t in threads:
                t.join(30)
            for d in devices:
                d.close()
            in_flight = {e["id"] for d in devices for e in d.pending}
            acked_before = sum(len(d.acked) for d in devices)
            crashed_events = check_crash_state(fail, srv, where + " (crash state)")
            if args.sabotage and cycle == 1:
                victim = next(i for d in devices for i in d.acked)
                rc.sqlite_cli(srv.db, "DELETE FROM events WHERE id='%s'; UPDATE cases SET reference=(SELECT min(reference) "
                                      "FROM cases) WHERE id=(SELECT max(id) FROM cases);" % victim)
                rc.log("sabotage: deleted acknowledged event %s and duplicated a reference" % victim)
            srv.start()
            for d in devices:  # tokens acknowledged before the crash must still be valid
                d.port = srv.port
                st, _ = rc.jrequest(srv.port, "GET", "/api/v1/auth/me", token=d.token)
                fail.check(st == 200, "%s: token of %s refused after restart (%s)" % (where, d.user, st))
            restarted, _, _ = verify_server(fail, srv, admin, devices, where + " (after restart)")
            committed_unacked = len(in_flight & set(restarted))
            totals["in_flight"] += len(in_flight)
            totals["committed_unacked"] += committed_unacked
            converge(fail, srv, devices, where, rng)
            events, cases, acked = verify_server(fail, srv, admin, devices, where + " (after retries)")
            check_convergence(fail, srv, devices, events, where, rng)
            for d in devices:
                for u in d.unexpected:
                    fail.add("%s: device %s: %s" % (where, d.name, u))
                d.unexpected.clear()
            if not fail:
                figures["cycles_survived"] = cycle
            rc.log("%s: killed with %d acknowledged, %d in flight (%d of them committed, answer lost), %d rows on disk; "
                   "after retries %d events, %d cases; failures so far %d"
                   % (where, acked_before, len(in_flight), committed_unacked, crashed_events, len(events), len(cases),
                      len(fail.items)))
            if fail and cycle >= 1 and len(fail.items) > 50:
                break
        # final: graceful stop and a last integrity check on the live files
        code = srv.stop()
        fail.check(code == 0, "graceful stop exit code %s" % code)
        ic = rc.sqlite_cli(srv.db, "PRAGMA integrity_check;")
        fail.check(ic == "ok", "final integrity_check: %s" % ic[:300])
        made = sum(len(d.sent) for d in devices)
        figures.update({
            "events_made": made,
            "events_acknowledged": sum(len(d.acked) for d in devices),
            "events_verified": len(events),
            "cases": len(cases),
            "push_ok": stats["pushes_ok"],
            "in_flight_at_kills": totals["in_flight"],
            "committed_but_unanswered_at_kills": totals["committed_unacked"],
            "transport_errors_during_kills": sum(d.errors for d in devices),
            "server_starts": srv.starts,
            "seconds": round(time.monotonic() - t_start, 1),
        })
        if "events_verified" in figures:
            text = srv.log_text()
            fail.check("database is locked" not in text, "server log mentions 'database is locked'")
    except Exception as e:
        fail.add("harness error: %r" % e)
        rc.log(srv.log_tail())
    finally:
        srv.cleanup()
    figures["failures"] = len(fail.items)
    figures["ok"] = not fail
    if args.sabotage:
        figures["sabotage_detected"] = bool(fail)
    print(json.dumps(figures))
    if args.sabotage:
        rc.log("crash_test --sabotage: the checks %s the damage" % ("caught" if fail else "MISSED"))
        return 0 if fail else 1
    if fail:
        rc.log("crash_test: FAILED (%d) seed=%d" % (len(fail.items), seed))
        for f in fail.items[:20]:
            rc.log("  -", f)
        return 1
    rc.log("crash_test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
