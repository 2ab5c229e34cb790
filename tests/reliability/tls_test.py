#!/usr/bin/env python3
"""Optional TLS: the real server with --tls-cert/--tls-key answers HTTPS with a certificate that
verifies against the one we generated, logs in over TLS, refuses plain HTTP on that port, and
refuses to start with a missing or mismatched key."""
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relcommon import ADMIN_PASSWORD, Failures, free_port, log  # noqa: E402


def make_cert(dirname, name):
    cert, key = os.path.join(dirname, name + ".pem"), os.path.join(dirname, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def main():
    binary = os.path.abspath(sys.argv[1])
    fails = Failures()
    tmp = tempfile.mkdtemp(prefix="closeloop-tls-")
    proc = None
    try:
        cert, key = make_cert(tmp, "server")
        _, other_key = make_cert(tmp, "other")
        env = dict(os.environ, CLOSELOOP_TEST_FAST_HASH="1", CLOSELOOP_ADMIN_PASSWORD=ADMIN_PASSWORD)

        # A key that does not belong to the certificate: refuse to start, with a clear message.
        bad = subprocess.run([binary, "--port", str(free_port()), "--data", os.path.join(tmp, "bad"),
                              "--tls-cert", cert, "--tls-key", other_key], env=env, capture_output=True,
                             text=True, timeout=30)
        fails.check(bad.returncode != 0 and "TLS" in bad.stderr, "mismatched key must refuse to start: %r" % bad.stderr)
        half = subprocess.run([binary, "--port", str(free_port()), "--data", os.path.join(tmp, "half"),
                               "--tls-cert", cert], env=env, capture_output=True, text=True, timeout=30)
        fails.check(half.returncode != 0, "--tls-cert without --tls-key must refuse to start")

        port = free_port()
        proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(port), "--data", os.path.join(tmp, "data"),
                                 "--sweep-interval", "0", "--tls-cert", cert, "--tls-key", key],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ctx = ssl.create_default_context(cafile=cert)  # verifies the chain and the 127.0.0.1 SAN
        deadline, ok = time.time() + 20, False
        while time.time() < deadline and not ok:
            try:
                c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=3)
                c.request("GET", "/healthz")
                ok = c.getresponse().status == 200
            except OSError:
                time.sleep(0.1)
        fails.check(ok, "HTTPS /healthz did not answer 200")
        if ok:
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
            c.request("POST", "/api/v1/auth/login", body=json.dumps({"username": "admin", "password": ADMIN_PASSWORD}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            body = json.loads(r.read() or b"{}")
            fails.check(r.status == 200 and len(body.get("token", "")) >= 32, "login over TLS failed: %s" % r.status)
            # Plain HTTP to the TLS port must not be served.
            try:
                p = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
                p.request("GET", "/healthz")
                st = p.getresponse().status
                fails.check(st != 200, "plain HTTP was served on the TLS port")
            except (OSError, http.client.HTTPException):
                pass
        print(json.dumps({"test": "tls", "https_ok": ok, "failures": len(fails.items)}))
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    for m in fails.items:
        log("tls:", m)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
