"""Real servers for the operations tests: gunicorn with deploy/gunicorn.conf.py,
nginx with deploy/nginx/iseca.conf (templated into a temporary copy),
PostgreSQL clusters of their own (initdb in a temporary folder: the shared
server is never stopped or loaded), certificates made here. Everything listens on
127.0.0.1 on free ports and is stopped by its process id.

A program or service that is missing skips these tests on a developer's
machine and fails them in CI (CI=1), where .ci/run installs it."""
from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iseca import create_app
from iseca.extensions import db
from tests import factories
from tests.support.database import TEST_CONFIG, Databases, migrate_database

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
REDIS_URL = os.environ.get("ISECA_TEST_REDIS_URL")


def missing(what: str, how: str):
    """Skip on a developer's machine, fail in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: {how}")
    pytest.skip(f"{what} is missing ({how})")


def need_program(name: str, package: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if not path:
        missing(name, f"apt-get install {package} (.ci/run installs it)")
    return path


def need_redis() -> str:
    if not REDIS_URL:
        missing("Redis", "set ISECA_TEST_REDIS_URL (.ci/run does)")
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"process exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after {seconds} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen, sig: int = signal.SIGINT, seconds: float = 30) -> None:
    """Stop a process this test started (its group: gunicorn's workers too);
    SIGINT is a quick shutdown for gunicorn and nginx alike."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# --- databases -------------------------------------------------------------

@dataclass
class PgDatabases:
    """Fresh PostgreSQL databases (on the private cluster of `pg_databases`)."""

    admin_url: str
    names: list[str] = field(default_factory=list)

    def create(self, *, migrate: bool = True) -> str:
        name = f"iseca_ops_{uuid.uuid4().hex[:10]}"
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self.names.append(name)
        url = make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        if migrate:
            migrate_database(url)
        return url


class PrivateClusterDatabases(Databases):
    """The suite's one database per backend, its PostgreSQL one on the private
    cluster: nothing is created on or dropped from the shared server."""

    def __init__(self, tmp_path_factory, pg: PgDatabases):
        super().__init__(tmp_path_factory)
        self.pg = pg

    def url(self, backend: str) -> str:
        if backend == "postgresql" and backend not in self.urls:
            self.urls[backend] = self.pg.create()
        return super().url(backend)


@dataclass
class Shop:
    """What a till needs: a store's code and a card with points."""

    store_code: str
    card_number: str
    card_balance: int


def seed_shop(url: str, *, balance: int = 100_000, stores: int = 1) -> list[Shop]:
    """A campaign, `stores` stores (password factories.PASSWORD) and a card each."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        campaign = factories.make_campaign()
        shops = []
        for _ in range(stores):
            store = factories.make_store()
            _, card = factories.make_card_member(balance, campaign)
            shops.append(Shop(store.code, card.number, balance))
        db.session.commit()
        db.engine.dispose()
    return shops


# --- processes -------------------------------------------------------------

def app_environment(url: str, **extra: str) -> dict[str, str]:
    """The environment of a production app process (as /etc/iseca/iseca.env gives it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISECA_", "GUNICORN_"))}
    env.update({
        "ISECA_PRODUCTION": "true",
        "ISECA_SECRET_KEY": "operations-test-" + "k" * 48,
        "ISECA_SQLALCHEMY_DATABASE_URI": url,
        "ISECA_ARGON2_TIME_COST": "1",
        "ISECA_ARGON2_MEMORY_COST": "1024",
        "ISECA_PUBLIC_BASE_URL": "https://iseca.example.jp",
        "GUNICORN_WORKERS": "2",
    })
    env.update(extra)
    return env


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_gunicorn(tmp_path: Path, env: dict[str, str], name: str = "gunicorn", cwd: Path = ROOT) -> Gunicorn:
    """gunicorn -c deploy/gunicorn.conf.py app:app on a free loopback port
    (the app in `cwd`: this checkout unless told otherwise)."""
    [server] = start_gunicorns(tmp_path, env, [name], cwd)
    return server


def start_gunicorns(tmp_path: Path, env: dict[str, str], names: list[str], cwd: Path = ROOT) -> list[Gunicorn]:
    """One gunicorn per name, started together (as hosts boot independently),
    returned once each one's workers answer."""
    servers = []
    for name in names:
        port = free_port()
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"), "app:app"],
                cwd=cwd, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        servers.append(Gunicorn(process, port, log))
    try:
        for server in servers:
            wait_for_port(server.port, server.process, server.log)
            wait_for_workers(server.port, server.process, server.log)
    except BaseException:
        for server in servers:
            stop(server.process)
        raise
    return servers


def wait_until(condition, seconds: float, what: str) -> float:
    """Poll `condition` until it holds (fail after `seconds`); returns the seconds waited."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.05)
    return time.monotonic() - started


def wait_for_workers(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    """Until a worker answers, i.e. has imported the app. Any answer counts:
    a previous release without /healthz answers it 404."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
            if status < 500:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    pytest.fail(f"no gunicorn worker answered on 127.0.0.1:{port} within {seconds} s:\n{log.read_text()[-3000:]}")


_CERTIFICATE: tuple[Path, Path] | None = None


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and localhost), valid one day; made once
    per run (in the first folder asked) and shared by every nginx."""
    global _CERTIFICATE
    if _CERTIFICATE and all(p.exists() for p in _CERTIFICATE):
        return _CERTIFICATE
    openssl = need_program("openssl", "openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    _CERTIFICATE = cert, key
    return cert, key


def client_tls(cert: Path) -> ssl.SSLContext:
    """A client that trusts only the test's certificate (verification on)."""
    return ssl.create_default_context(cafile=str(cert))


@dataclass
class Nginx:
    process: subprocess.Popen
    http_port: int
    https_port: int
    folder: Path
    cert: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def access_log(self) -> str:
        path = self.folder / "iseca.access.log"
        return path.read_text(errors="replace") if path.exists() else ""


def templated_site(upstreams: list[int], http_port: int, https_port: int, folder: Path, cert: Path, key: Path) -> str:
    """deploy/nginx/iseca.conf with this test's ports, paths and certificate.
    Every replacement must find its text: a changed site file fails here."""
    site = (DEPLOY / "nginx" / "iseca.conf").read_text()
    servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=0;" for port in upstreams)
    replacements = [
        ("    server 127.0.0.1:8000 max_fails=0;", servers),
        ("    listen 80;\n    listen [::]:80;", f"    listen 127.0.0.1:{http_port};"),
        ("    listen 443 ssl http2;\n    listen [::]:443 ssl http2;", f"    listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/letsencrypt/live/iseca.example.jp/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/iseca.example.jp/privkey.pem", str(key)),
        ("server_name iseca.example.jp;", "server_name 127.0.0.1;"),
        ("/srv/iseca/static/", f"{ROOT}/static/"),
        ("/srv/iseca/deploy/nginx/errors/", f"{DEPLOY}/nginx/errors/"),
        ("/var/log/nginx/", f"{folder}/"),
        ("/var/www/html", str(folder)),
    ]
    for old, new in replacements:
        assert old in site, f"deploy/nginx/iseca.conf no longer contains {old!r}"
        site = site.replace(old, new)
    return site


def start_nginx(tmp_path: Path, upstreams: list[int]) -> Nginx:
    """Debian's nginx, in the foreground, with the deploy site in front of `upstreams`."""
    nginx = need_program("nginx", "nginx")
    folder = tmp_path / "nginx"
    folder.mkdir()
    cert, key = self_signed_certificate(folder)
    http_port, https_port = free_port(), free_port()
    (folder / "iseca.conf").write_text(templated_site(upstreams, http_port, https_port, folder, cert, key))
    temp = "\n".join(f"    {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
{temp}
    include {folder}/iseca.conf;
}}
""")
    log = folder / "stderr.log"
    with log.open("wb") as out:
        process = subprocess.Popen([nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(https_port, process, folder / "error.log")
    return Nginx(process, http_port, https_port, folder, cert)


def pay(till, shop: Shop, amount: int, key: str) -> tuple[int, dict, str]:
    """The till's 「決済する」: read the card, then charge with an idempotency key."""
    csrf = till.csrf("/terminal/pay")
    status, headers, _ = till.post("/terminal/pay", {"csrf_token": csrf, "code": shop.card_number})
    assert status == 303, status
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(headers["Location"]).query)
    form = {"csrf_token": csrf, "payer": query["payer"][0], "register": query["register"][0], "amount": str(amount), "key": key}
    return till.post("/terminal/pay/charge", form)


# --- a private PostgreSQL cluster (never the shared one) -------------------

class PrivateCluster:
    """initdb/pg_ctl in a temporary folder on a free loopback port, trust
    authentication, for tests that stop and start PostgreSQL. As root, the
    server runs as the postgres user (initdb refuses root)."""

    def __init__(self):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            missing("PostgreSQL server binaries", "apt-get install postgresql (.ci/run installs it)")
        self.bin = bins[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="iseca-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.log = self.folder / "postgresql.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                  "--locale", "C.UTF-8")

    def _run(self, program: str, *args: str, timeout: float = 120) -> None:
        result = subprocess.run([*self.as_user, str(self.bin / program), *args], capture_output=True, text=True,
                                timeout=timeout, cwd=self.folder)
        assert result.returncode == 0, f"{program} failed: {result.stdout}{result.stderr}"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except AssertionError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """Debian's redis-server on a free loopback port, nothing saved to disk,
    for tests that stop and start it (the shared one at ISECA_TEST_REDIS_URL
    is never stopped). start() again after stop() serves on the same port,
    empty, as a restarted Redis without persistence does."""

    def __init__(self, folder: Path):
        self.program = need_program("redis-server", "redis-server")
        self.folder = folder
        self.port = free_port()
        self.log = folder / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.program, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                 "--dir", str(self.folder)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        """SIGTERM: Redis closes its clients and exits (nothing to save)."""
        if self.process is not None:
            stop(self.process, signal.SIGTERM)


def worker_pids(master: subprocess.Popen) -> list[int]:
    """gunicorn's worker processes: the master's children."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def busy_worker(master: subprocess.Popen, port: int, seconds: float = 5) -> int | None:
    """A gunicorn worker holding a client's connection on `port` right now
    (a request in flight), found through /proc; None if none within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        established = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == "01":
                established.add(fields[9])
        for pid in worker_pids(master):
            try:
                if _socket_inodes(pid) & established:
                    return pid
            except OSError:
                continue
        time.sleep(0.01)
    return None
