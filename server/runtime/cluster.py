"""`scanfloor serve-cluster`: several server processes on one host, nginx in front, one command.

Starts N `scanfloor-server` processes on free loopback ports, all on the same
data dir and the same Redis (Flask-SocketIO's message queue and our bus,
server/realtime/bus.py), and exactly one worker process for all of them
(server/runtime/worker.py; the servers are told not to start their own), writes an nginx config from
config/nginx/scanfloor.conf.template into a run directory of its own and runs
nginx in the foreground with it. A server process that dies is started again
on its port, a worker that dies is started again; SIGTERM or SIGINT stops nginx and every process. Plain Python (no
gevent): it only starts, watches and stops processes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from server.runtime.keeper import Keeper, worker_command

log = logging.getLogger("scanfloor.cluster")
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "config" / "nginx" / "scanfloor.conf.template"
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")
REDIS_CANDIDATES = ("redis-server", "/usr/bin/redis-server")
WORKER_NICE = 5  # the worker's nice value from its start (its setting's default)


class ClusterError(RuntimeError):
    """The cluster could not start (the message says why and what to do)."""


def find_binary(candidates: tuple[str, ...]) -> str | None:
    """The first of the names found on PATH or as a path."""
    for name in candidates:
        found = shutil.which(name) or (name if os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


def _own_session() -> None:
    """In the child before exec: a session of its own (a terminal's Ctrl-C reaches the
    supervisor alone, which stops the children in order), and SIGTERM should the
    supervisor die without stopping it (Linux)."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on host right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def redis_answers(url: str) -> bool:
    """Whether a Redis answers PING at url."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextlib.contextmanager
def private_redis(run_dir: Path) -> Iterator[str]:
    """A redis-server of its own on a free loopback port (no persistence); yields its URL."""
    binary = find_binary(REDIS_CANDIDATES)
    if binary is None:
        raise ClusterError("redis-server is not installed (apt-get install -y redis-server)")
    run_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        port = free_port()
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(run_dir), "--logfile", ""]
        with open(run_dir / "redis.log", "ab") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_own_session
            )
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            if redis_answers(url):
                try:
                    yield url
                finally:
                    stop_process(proc)
                return
            time.sleep(0.05)
        stop_process(proc)
    raise ClusterError(f"redis-server did not start; see {run_dir / 'redis.log'}")


def render_nginx(
    listen: str,
    upstreams: list[str],
    run_dir: Path,
    max_body_bytes: int,
    worker_processes: int = 1,
    access_log: str = "off",
    template: Path = TEMPLATE,
) -> str:
    """The nginx config from the template, its `{{field}}`s filled in."""
    servers = "\n".join(f"        server {addr} max_fails=1 fail_timeout=2s;" for addr in upstreams)
    fields = {
        "listen": listen,
        "servers": servers,
        "run_dir": str(run_dir),
        "max_body_bytes": str(max_body_bytes),
        "worker_processes": str(worker_processes),
        "access_log": access_log,
    }
    text = template.read_text()
    for key, value in fields.items():
        text = text.replace("{{" + key + "}}", value)
    left = re.findall(r"\{\{(\w+)\}\}", text)
    if left:
        raise ClusterError(f"{template}: fields left unfilled: {', '.join(sorted(set(left)))}")
    return text


@dataclass
class ServerProcess:
    """One `scanfloor-server` of the cluster."""

    port: int
    log: Path | None
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """N server processes and nginx; `with Cluster(...) as c:` starts them and stops them after."""

    data_dir: Path
    redis_url: str
    processes: int = 2
    database_url: str | None = None  # None: the SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8800
    run_dir: Path | None = None
    log_dir: Path | None = None  # None: the processes write to this process's stdout
    state_file: Path | None = None
    max_body_bytes: int = 256 * 1024
    env: dict[str, str] = field(default_factory=dict)
    servers: list[ServerProcess] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    worker: Keeper | None = None
    _own_run_dir: bool = False
    _stopping: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ start
    def start(self) -> None:
        nginx = find_binary(NGINX_CANDIDATES)
        if nginx is None:
            raise ClusterError("nginx is not installed (apt-get install -y nginx)")
        if not redis_answers(self.redis_url):
            raise ClusterError(
                f"no Redis answers at {self.redis_url}: start one (`service redis-server start`;"
                " `make cluster` does) or pass --redis-url"
            )
        if self.run_dir is None:
            self.run_dir = Path(tempfile.mkdtemp(prefix="scanfloor-cluster-"))
            self._own_run_dir = True
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o755)  # nginx's workers (nobody, when run as root) read through it
        self.data_dir = self.data_dir.resolve()
        self._migrate()
        try:
            for _ in range(self.processes):
                server = ServerProcess(port=0, log=None)
                self.servers.append(server)
                self._start_server(server)
            for server in self.servers:
                self._wait_ready(server)
            self._start_worker()
            self._start_nginx(nginx)
            self.write_state()
        except BaseException:
            self.stop()
            raise

    def _migrate(self) -> None:
        # Once, before the processes start, rather than N at once.
        from server.store import open_store

        open_store(self.database_url or self.data_dir / "scanfloor.db").close()

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "SCANFLOOR_REDIS_URL": self.redis_url,
            "SCANFLOOR_DATA_DIR": str(self.data_dir),
            # One worker for the whole cluster (this supervisor's), none per server.
            "SCANFLOOR_WORKER__WITH_SERVER": "false",
            **({"SCANFLOOR_DATABASE_URL": self.database_url} if self.database_url else {}),
            **self.env,
        }

    def _start_worker(self) -> None:
        log_path = self.log_dir / "worker.log" if self.log_dir is not None else None
        if log_path is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        self.worker = Keeper(
            worker_command(self.data_dir), env=self._env(), log_path=log_path, nice=WORKER_NICE
        )
        self.worker.start()

    def _start_server(self, server: ServerProcess) -> None:
        env = self._env()
        keep_port = server.port != 0
        for _ in range(1 if keep_port else 3):  # a free port may be taken between probe and bind
            if not keep_port:
                server.port = free_port()
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                server.log = self.log_dir / f"server-{server.port}.log"
            out = server.log.open("ab") if server.log else None
            server.proc = subprocess.Popen(
                [sys.executable, "-m", "server.runtime.serve", "--host", "127.0.0.1"]
                + ["--port", str(server.port), "--data-dir", str(self.data_dir)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                preexec_fn=_own_session,
            )
            if out:
                out.close()
            server.started_at = time.monotonic()
            time.sleep(0.3)
            if server.proc.poll() is None:
                return
        raise ClusterError(f"a server process would not start on port {server.port}")

    def _wait_ready(self, server: ServerProcess, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.proc is None or server.proc.poll() is not None:
                where = f"; see {server.log}" if server.log else ""
                raise ClusterError(f"the server process on port {server.port} exited{where}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(server.url + "/api/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise ClusterError(f"the server process on port {server.port} did not answer")

    def _start_nginx(self, binary: str) -> None:
        assert self.run_dir is not None
        conf = self.run_dir / "nginx.conf"
        conf.write_text(
            render_nginx(
                f"{self.host}:{self.port}",
                [f"127.0.0.1:{s.port}" for s in self.servers],
                self.run_dir,
                self.max_body_bytes,
            )
        )
        err = self.run_dir / "nginx-error.log"
        self.nginx = subprocess.Popen(
            [binary, "-c", str(conf), "-p", str(self.run_dir), "-e", str(err)]
            + ["-g", "daemon off;"],
            preexec_fn=_own_session,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                raise ClusterError(f"nginx exited: {err.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise ClusterError(f"nginx did not answer on {self.url}; see {err}")

    def write_state(self) -> None:
        """What runs where, as JSON in state_file (for scripts and tests)."""
        if self.state_file is None:
            return
        state = {
            "url": self.url,
            "redis_url": self.redis_url,
            "run_dir": str(self.run_dir),
            "nginx_pid": self.nginx.pid if self.nginx else None,
            "worker_pid": self.worker.pid if self.worker else None,
            "processes": [
                {"url": s.url, "port": s.port, "pid": s.proc.pid if s.proc else None}
                for s in self.servers
            ],
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.state_file)

    # ------------------------------------------------------------ run
    def supervise(self, stop: threading.Event) -> None:
        """Until `stop` is set: start again any server process that died; nginx dying ends it."""
        while not stop.wait(0.5):
            if self.nginx is not None and self.nginx.poll() is not None:
                raise ClusterError(f"nginx exited with {self.nginx.returncode}")
            if self.worker is not None:
                pid = self.worker.pid
                self.worker.check()  # started again if it died (after its back-off)
                if self.worker.pid != pid:
                    self.write_state()
            for server in self.servers:
                if server.proc is not None and server.proc.poll() is None:
                    continue
                # Quick deaths back off, so a broken config does not spin.
                ran = time.monotonic() - server.started_at
                server.restarts = 0 if ran > 60 else server.restarts + 1
                wait = min(30.0, 2.0 ** (server.restarts - 1)) if server.restarts else 0.5
                if server.proc is not None:
                    log.warning(
                        "server process %s on port %s exited with %s; starting it again",
                        server.proc.pid,
                        server.port,
                        server.proc.returncode,
                    )
                    server.proc = None
                if stop.wait(wait):
                    return
                try:
                    self._start_server(server)
                except ClusterError as exc:
                    log.error("%s; trying again", exc)
                    server.proc, server.started_at = None, time.monotonic()
                self.write_state()

    # ------------------------------------------------------------ stop
    def stop(self) -> None:
        """Stop nginx, the worker, then every server process (SIGTERM, SIGKILL after 10 s)."""
        if self._stopping:
            return
        self._stopping = True
        if self.nginx is not None:
            stop_process(self.nginx)
        if self.worker is not None:
            self.worker.stop()
        procs = [s.proc for s in self.servers if s.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            stop_process(proc)
        if self._own_run_dir and self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it does not end in time; returns its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def run(cluster: Cluster) -> None:
    """Start the cluster, keep it up until SIGTERM or SIGINT, stop it."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="scanfloor: %(message)s")
    stop = threading.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    try:
        with cluster:
            lines = [f"{len(cluster.servers)} server processes behind nginx on {cluster.url}"]
            lines += [f"  process pid {s.proc.pid} on {s.url}" for s in cluster.servers if s.proc]
            if cluster.worker is not None:
                lines.append(f"  worker pid {cluster.worker.pid}")
            lines.append(f"  redis {cluster.redis_url}; nginx config {cluster.run_dir}/nginx.conf")
            log.info("%s", "\n".join(lines))
            cluster.supervise(stop)
        log.info("cluster stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
