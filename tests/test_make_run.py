"""`PORT=… make run` as a newcomer runs it: the QR codes the served app makes
carry the address it is served at, not the default port."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.httpclient import Till
from tests.qr_helpers import decode_qr
from tests.support.client import basic_auth_header

ROOT = Path(__file__).resolve().parents[1]
DEMO_PASSWORD = "iseca-demo-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """`make run PORT=<free port>` on a fresh SQLite database; yields the port and the output file."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ISECA_") and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PORT")}
    env.update(ISECA_SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/iseca.sqlite3",
               ISECA_SECRET_KEY="make-run-test-only")
    output = tmp_path / "make-run.log"
    with output.open("wb") as log:
        # -o: the virtualenv is taken as it is (installing is not what this test is about).
        process = subprocess.Popen(["make", "-o", ".venv/.installed", "run", f"PORT={port}"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, output.read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"make run did not serve within 180 s:\n{output.read_text()}")
        yield port, output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_run_on_another_port_puts_that_port_in_the_register_qr_codes(served):
    port, output = served
    base = f"http://127.0.0.1:{port}"
    till = Till(base, headers={"Authorization": basic_auth_header()})
    assert till.login("cms", "S00001", DEMO_PASSWORD, kind="store") == 303
    new_password = "駅前の店は朝九時から開きます"
    status, _, _ = till.post("/cms/password", {"csrf_token": till.csrf("/cms/password"), "current_password": DEMO_PASSWORD,
                                                "new_password": new_password, "new_password_confirm": new_password})
    assert status == 303
    status, _, html = till.get("/cms/registers")
    assert status == 200
    register_id = re.search(r'/cms/registers/(\d+)/qr"', html).group(1)
    request = urllib.request.Request(f"{base}/cms/registers/{register_id}/qr.png", headers={
        **till.headers, "Cookie": "; ".join(f"{k}={v}" for k, v in till.cookies.items())})
    with urllib.request.urlopen(request, timeout=30) as response:
        [address] = decode_qr(response.read())
    assert address.startswith(f"{base}/wallet/pay/"), address
    till.close()
    assert f"== Serving {base}" in output.read_text()  # and the console says where


def test_make_run_on_a_fresh_machine_says_what_it_installs_before_it_does(tmp_path):
    """pip is quiet for a minute or two on a first run: a line says why before it starts."""
    out = subprocess.run(["make", "-n", "run", f"VENV={tmp_path}/venv"], cwd=ROOT, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},
                         check=True).stdout
    lines = out.splitlines()
    said = next(i for i, line in enumerate(lines) if "Installing Python packages into" in line)
    assert "first run takes a minute or two" in lines[said]
    assert said < next(i for i, line in enumerate(lines) if "pip install --quiet -r requirements.txt" in line)
