"""`make run-https` as a merchant trying the till on a phone runs it: https
with a self-signed certificate, on every interface (make run stays on
127.0.0.1). The test connects through 127.0.0.1 only."""
from __future__ import annotations

import http.client
import os
import signal
import ssl
import subprocess
import time
from pathlib import Path

from tests.support.servers import ROOT, free_port, need_program


def _listening_on_all_interfaces(port: int) -> bool:
    """/proc/net/tcp: local address 0.0.0.0:port in state LISTEN (0A)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == f"00000000:{port:04X}" and fields[3] == "0A":
            return True
    return False


def test_make_run_https_serves_the_local_network_with_a_certificate(tmp_path):
    need_program("openssl", "openssl")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ISECA_") and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PORT")}
    env.update(ISECA_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/iseca.sqlite3", ISECA_SECRET_KEY="run-https-test-only")
    output = tmp_path / "make-run-https.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "run-https", f"HTTPS_PORT={port}", f"HTTPS_CERT_DIR={tmp_path}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        cert = None
        while time.monotonic() < deadline:
            assert process.poll() is None, output.read_text()
            certs = list(tmp_path.glob("https-*.pem"))
            if certs and _listening_on_all_interfaces(port):
                [cert] = certs
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"make run-https did not serve within 180 s:\n{output.read_text()}")
        address = cert.name.removeprefix("https-").removesuffix(".pem")
        # Certificate verification on: the one make made, valid for 127.0.0.1 too.
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ssl.create_default_context(cafile=str(cert)))
        conn.request("GET", "/terminal/login")
        response = conn.getresponse()
        assert response.status == 200 and "ログイン" in response.read().decode()
        conn.close()
        assert f"== Serving https://{address}:{port} to the local network" in output.read_text()
        assert (tmp_path / f"https-{address}.key").stat().st_mode & 0o777 == 0o600
        print(f"checked: make run-https listens on 0.0.0.0:{port} with https (certificate for {address} and 127.0.0.1), "
              f"QR codes carry https://{address}:{port}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
