#!/usr/bin/env python3
"""The closeloop-server command line: mistakes are refused clearly, never acted on.

    cli_test.py SERVER_BINARY

  numbers   - --port, --read-timeout, --sweep-interval, demo --count with a value that is not a whole
              number in range: exit 2 at once, the message names the option and the value (atoi read
              "--port abc" as 0 and listened on a random port); --port 0 still means any free port
  data      - backup, retention run and user add with a --data folder that does not exist or holds
              no closeloop.db: exit non-zero, say so, create nothing (a mistyped cron backup wrote an
              empty database and "backup written")
  happy     - the same commands on a real data folder (made by demo) still work
One JSON line of figures on stdout; < 10 s.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relcommon as rc  # noqa: E402

fail = rc.Failures()
figures = {"test": "cli"}


def run(binary, args, env=None, timeout=10):
    """(exit code or None when it had to be killed, stdout + stderr)."""
    e = dict(os.environ)
    e["CLOSELOOP_TEST_FAST_HASH"] = "1"
    e["CLOSELOOP_ADMIN_PASSWORD"] = rc.ADMIN_PASSWORD
    e.update(env or {})
    try:
        p = subprocess.run([binary] + args, capture_output=True, timeout=timeout, env=e, cwd=tempfile.gettempdir())
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")
    except subprocess.TimeoutExpired as t:
        out = (t.stdout or b"") + (t.stderr or b"")
        return None, out.decode("utf-8", "replace")


def test_numbers(binary, tmp):
    rc.log("== numbers")
    data = os.path.join(tmp, "numbers-data")
    bad = [
        (["--port", "abc"], "--port", "abc"),
        (["--port", "70000"], "--port", "70000"),
        (["--port", "-1"], "--port", "-1"),
        (["--port", "80x"], "--port", "80x"),
        (["--port", ""], "--port", ""),
        (["--read-timeout", "0"], "--read-timeout", "0"),
        (["--read-timeout", "ten"], "--read-timeout", "ten"),
        (["--sweep-interval", "hourly"], "--sweep-interval", "hourly"),
        (["--sweep-interval", "-5"], "--sweep-interval", "-5"),
        (["--sweep-interval", "99999999999999999999"], "--sweep-interval", "99999999999999999999"),
        (["demo", "--count", "0"], "--count", "0"),
        (["demo", "--count", "many"], "--count", "many"),
        (["demo", "--count", "100001"], "--count", "100001"),
    ]
    for args, option, value in bad:
        code, out = run(binary, args + ["--data", data], timeout=5)
        fail.check(code == 2, "%s: exit %s, want 2 (%s)" % (args, code, out.strip()[:200]))
        fail.check(option in out and "'%s'" % value in out, "%s: message does not name %s and '%s': %s"
                   % (args, option, value, out.strip()[:200]))
    fail.check(not os.path.exists(data), "a refused command line created the data folder")
    # --port 0: any free port, as the e2e tests start it; the line says which.
    e = dict(os.environ, CLOSELOOP_TEST_FAST_HASH="1", CLOSELOOP_ADMIN_PASSWORD=rc.ADMIN_PASSWORD)
    p = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", "0", "--data", data, "--sweep-interval", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e, cwd=tmp)
    try:
        line, deadline = "", time.time() + 8
        while time.time() < deadline and "listening on" not in line:
            line = p.stdout.readline().decode("utf-8", "replace")
            if not line and p.poll() is not None:
                break
        port = line.split("http://127.0.0.1:")[-1].split("/")[0] if "listening on" in line else ""
        ok = port.isdigit() and int(port) > 0
        fail.check(ok, "--port 0: no 'listening on' line with a port: %r" % line)
        if ok:
            st, _, _ = rc.request(int(port), "GET", "/healthz", timeout=5)
            fail.check(st == 200, "--port 0: /healthz %s" % st)
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()


def test_data(binary, tmp):
    rc.log("== data")
    typo = os.path.join(tmp, "dta")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    for folder, says in ((typo, "does not exist"), (empty, "no closeloop.db")):
        cmds = [
            ["backup", os.path.join(tmp, "b.db"), "--data", folder],
            ["retention", "run", "--data", folder],
            ["retention", "run", "--dry-run", "--data", folder],
            ["user", "add", "bob", "--role", "agent", "--team", "t", "--password-env", "CLI_PW", "--data", folder],
        ]
        for args in cmds:
            code, out = run(binary, args, env={"CLI_PW": "cli-password-1"})
            fail.check(code not in (0, None), "%s: exit %s, want an error (%s)" % (args, code, out.strip()[:200]))
            fail.check(says in out and folder in out, "%s: the message does not say '%s' about %s: %s"
                       % (args, says, folder, out.strip()[:200]))
            fail.check("backup written" not in out and "purged" not in out and "created" not in out,
                       "%s: reports success: %s" % (args, out.strip()[:200]))
    fail.check(not os.path.exists(typo), "a command created the mistyped data folder")
    fail.check(os.listdir(empty) == [], "a command wrote into a folder that is not a data folder: %s" % os.listdir(empty))
    fail.check(not os.path.exists(os.path.join(tmp, "b.db")), "a backup file was written from no data folder")


def test_happy(binary, tmp):
    rc.log("== happy")
    data = os.path.join(tmp, "data")
    code, out = run(binary, ["demo", "--count", "3", "--data", data])  # demo makes a new folder
    fail.check(code == 0, "demo: exit %s: %s" % (code, out.strip()[:300]))
    backup = os.path.join(tmp, "backup.db")
    code, out = run(binary, ["backup", backup, "--data", data])
    fail.check(code == 0 and "backup written" in out and os.path.isfile(backup) and os.path.getsize(backup) > 0,
               "backup: exit %s: %s" % (code, out.strip()[:300]))
    code, out = run(binary, ["retention", "run", "--dry-run", "--data", data])
    fail.check(code == 0 and "would purge" in out, "retention run: exit %s: %s" % (code, out.strip()[:300]))
    code, out = run(binary, ["user", "add", "cliuser", "--role", "agent", "--team", "t", "--password-env", "CLI_PW",
                             "--data", data], env={"CLI_PW": "cli-password-1"})
    fail.check(code == 0 and "user cliuser created" in out, "user add: exit %s: %s" % (code, out.strip()[:300]))


def main():
    if len(sys.argv) != 2:
        print("usage: cli_test.py SERVER_BINARY", file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="closeloop-cli-")
    t0 = time.monotonic()
    try:
        test_numbers(binary, tmp)
        test_data(binary, tmp)
        test_happy(binary, tmp)
    except Exception as e:
        import traceback
        traceback.print_exc()
        fail.add("harness error: %r" % e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    figures["seconds"] = round(time.monotonic() - t0, 1)
    figures["failures"] = len(fail.items)
    figures["ok"] = not fail
    print(json.dumps(figures))
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
