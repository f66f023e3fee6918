"""A real Spark topology on this machine, for the `spark_cluster` target (issue 17): a standalone master, one worker
and a Spark Thrift Server (the SQL endpoint dbt-spark's `thrift` method connects to), three JVM processes on loopback.

    python scripts/spark_cluster.py start [--fresh]   # start all three, wait until `select 1` answers on the endpoint
    python scripts/spark_cluster.py status [--json]   # exit 0 when all three run and the endpoint answers, else 3
    python scripts/spark_cluster.py stop              # stop them (idempotent: nothing running is not an error)
    python scripts/spark_cluster.py run [--fresh] -- CMD ...   # start, run CMD, stop even when CMD fails; CMD's status

Everything comes from the pyspark wheel (`pip install -e '.[spark-cluster]'`): its jars hold the standalone
deploy classes and spark-hive-thriftserver, its bin/spark-class and bin/spark-submit launch them. Nothing is
downloaded. The Thrift Server is submitted to the master (`--master spark://…`), so the SQL runs on the worker's
executor, not inside the server.

Where things live (ROLLOUT_SPARK_CLUSTER_DIR, default build/spark-cluster/ in the checkout):
    pids/<process>.pid    one per JVM; each is its own process group (the worker's executor is in the worker's)
    logs/<process>.log    their output (the executor's is under work/<app>/<executor>/)
    metastore_db/         the Thrift Server's catalog (embedded Derby: one server per catalog)
    warehouse/            its tables (spark.sql.warehouse.dir)
    work/, local/         the worker's work dir, shuffle and spill files
On a real cluster these are the cluster's own (a Hive metastore service, the warehouse on HDFS or an object store),
and the lake rolloutctl publishes to (ROLLOUT_PARQUET_DIR) must be a path every executor reads: a shared mount or
an object store. Here every process is on one machine, so local folders are shared already.

Ports and sizes (environment; the same ROLLOUT_SPARK_HOST/ROLLOUT_SPARK_PORT point profiles.yml's spark_cluster at
the endpoint):
    ROLLOUT_SPARK_HOST (127.0.0.1), ROLLOUT_SPARK_PORT (10177)                    the Thrift Server
    ROLLOUT_SPARK_CLUSTER_MASTER_PORT (17177), ..._MASTER_UI_PORT (18177), ..._WORKER_UI_PORT (18178)
    ROLLOUT_SPARK_CLUSTER_WORKER_CORES (2), ..._EXECUTOR_MEMORY (1g), ..._DRIVER_MEMORY (1g: the Thrift Server's)
    ROLLOUT_SPARK_CLUSTER_DAEMON_MEMORY (512m: master and worker), ..._START_TIMEOUT (300 s per process)
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
APP_NAME = "rolloutctl-thrift"
STOP_ORDER = ("thrift", "worker", "master")   # the endpoint first: nothing new is submitted while the rest stops


class ClusterError(Exception):
    """Something the operator must act on; printed as one line (with a log's tail where it helps)."""


def env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def env_port(name: str, default: int) -> int:
    value = env(name, str(default))
    if not (value.isdigit() and 0 < int(value) < 65536):
        raise ClusterError(f"{name}={value!r}: expected a port number (1-65535)")
    return int(value)


@dataclass(frozen=True)
class Config:
    folder: Path
    host: str
    port: int
    master_port: int
    master_ui_port: int
    worker_ui_port: int
    worker_cores: str
    executor_memory: str
    driver_memory: str
    daemon_memory: str
    start_timeout: float

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            folder=Path(env("ROLLOUT_SPARK_CLUSTER_DIR", str(ROOT / "build" / "spark-cluster"))).resolve(),
            host=env("ROLLOUT_SPARK_HOST", "127.0.0.1"),
            port=env_port("ROLLOUT_SPARK_PORT", 10177),
            master_port=env_port("ROLLOUT_SPARK_CLUSTER_MASTER_PORT", 17177),
            master_ui_port=env_port("ROLLOUT_SPARK_CLUSTER_MASTER_UI_PORT", 18177),
            worker_ui_port=env_port("ROLLOUT_SPARK_CLUSTER_WORKER_UI_PORT", 18178),
            worker_cores=env("ROLLOUT_SPARK_CLUSTER_WORKER_CORES", "2"),
            executor_memory=env("ROLLOUT_SPARK_CLUSTER_EXECUTOR_MEMORY", "1g"),
            driver_memory=env("ROLLOUT_SPARK_CLUSTER_DRIVER_MEMORY", "1g"),
            daemon_memory=env("ROLLOUT_SPARK_CLUSTER_DAEMON_MEMORY", "512m"),
            start_timeout=float(env("ROLLOUT_SPARK_CLUSTER_START_TIMEOUT", "300")),
        )

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def pid_file(self, name: str) -> Path:
        return self.folder / "pids" / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.folder / "logs" / f"{name}.log"


def spark_home() -> Path:
    """The pyspark package folder: Spark's jars, bin/ and sbin/ (found without importing pyspark)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise ClusterError("pyspark is not installed: pip install -e '.[spark-cluster]' (or make test-spark-cluster)")
    home = Path(spec.origin).parent
    if not (home / "jars").is_dir() or not list((home / "jars").glob("spark-hive-thriftserver_*.jar")):
        raise ClusterError(f"{home}/jars has no spark-hive-thriftserver jar: this pyspark cannot serve SQL over Thrift")
    return home


def command(config: Config, name: str, home: Path) -> list[str]:
    """The command line of one process (spark-class / spark-submit exec the JVM: its pid is the launcher's)."""
    if name == "master":
        return [str(home / "bin" / "spark-class"), MASTER_CLASS, "--host", "127.0.0.1",
                "--port", str(config.master_port), "--webui-port", str(config.master_ui_port)]
    if name == "worker":
        return [str(home / "bin" / "spark-class"), WORKER_CLASS, config.master_url, "--host", "127.0.0.1",
                "--cores", config.worker_cores, "--memory", config.executor_memory,
                "--webui-port", str(config.worker_ui_port), "--work-dir", str(config.folder / "work")]
    folder = config.folder
    conf = {
        "spark.executor.memory": config.executor_memory,
        "spark.ui.enabled": "false",              # a port and memory saved; the master's UI shows the application
        "spark.sql.session.timeZone": "UTC",      # the default of every session (the profile sets it too)
        "spark.sql.shuffle.partitions": "4",      # the marts are small: 200 partitions would be 200 tasks a shuffle
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder} -Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.local.dir": str(folder / "local"),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
    }
    return [str(home / "bin" / "spark-submit"), "--class", THRIFT_CLASS, "--master", config.master_url,
            "--name", APP_NAME, "--driver-memory", config.driver_memory,
            *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
            "spark-internal",
            "--hiveconf", f"hive.server2.thrift.port={config.port}",
            "--hiveconf", f"hive.server2.thrift.bind.host={config.host}"]


EXPECTED_CLASS = {"master": MASTER_CLASS, "worker": WORKER_CLASS, "thrift": THRIFT_CLASS}


def running_pid(config: Config, name: str) -> int | None:
    """The pid in `name`'s pid file when that process is alive and is still ours (its command line names the class:
    a pid reused by another program is not taken for it)."""
    try:
        pid = int(config.pid_file(name).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    if EXPECTED_CLASS[name] in cmdline:
        return pid
    # empty for an instant while the launcher execs the JVM (and for good once it is a zombie)
    return pid if not cmdline and _state(pid) not in ("Z", None) else None


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def master_state(config: Config) -> dict | None:
    """The master's own JSON status (its web UI's /json/), None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{config.master_ui_port}/json/", timeout=5) as response:
            return json.loads(response.read().decode())
    except (OSError, ValueError):
        return None


def endpoint_answers(config: Config) -> str | None:
    """None when `select 1` answers over Thrift; else why not."""
    try:
        from pyhive import hive
    except ImportError:
        return "PyHive is not installed: pip install -e '.[spark-cluster]'"
    try:
        connection = hive.connect(host=config.host, port=config.port, username="rollout")
        try:
            cursor = connection.cursor()
            cursor.execute("select 1")
            return None if cursor.fetchall() == [(1,)] else "select 1 gave another answer"
        finally:
            connection.close()
    except Exception as exc:  # noqa: BLE001 — any failure means "not ready yet"; the message says which
        return f"{type(exc).__name__}: {exc}"


def log_tail(config: Config, name: str, lines: int = 15) -> str:
    try:
        text = config.log_file(name).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def wait_until(config: Config, process: subprocess.Popen, name: str, ready, what: str) -> None:
    """Poll `ready()` until true; fail when the process died or the start timeout passed."""
    deadline = time.monotonic() + config.start_timeout
    while not ready():
        if process.poll() is not None:
            raise ClusterError(f"the {name} exited while starting ({what}); its log, {config.log_file(name)}, "
                               f"ends:\n{log_tail(config, name)}")
        if time.monotonic() > deadline:
            raise ClusterError(f"the {name} did not become ready ({what}) within {config.start_timeout:g} s "
                               f"(ROLLOUT_SPARK_CLUSTER_START_TIMEOUT); its log, {config.log_file(name)}, "
                               f"ends:\n{log_tail(config, name)}")
        time.sleep(1)


def launch(config: Config, name: str, home: Path) -> subprocess.Popen:
    log = config.log_file(name).open("ab")
    environment = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
                   "SPARK_LOG_DIR": str(config.folder / "logs"), "SPARK_DAEMON_MEMORY": config.daemon_memory,
                   "SPARK_WORKER_DIR": str(config.folder / "work")}
    environment.pop("SPARK_CONF_DIR", None)   # the wheel's defaults, not a conf folder someone left in the env
    # its own session (process group): `stop` signals the group, which holds the worker's executors too
    process = subprocess.Popen(command(config, name, home), stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT, cwd=config.folder, env=environment, start_new_session=True)
    log.close()
    config.pid_file(name).write_text(f"{process.pid}\n")
    return process


def start(config: Config, *, fresh: bool = False) -> dict:
    running = {name: pid for name in STOP_ORDER if (pid := running_pid(config, name))}
    if running:
        listed = ", ".join(f"{name} (pid {pid})" for name, pid in running.items())
        raise ClusterError(f"already running from {config.folder}: {listed}; endpoint {config.endpoint}. "
                           f"`status` shows its state; `stop` first to restart it")
    taken = [f"{port} ({var})" for port, var in ((config.port, "ROLLOUT_SPARK_PORT"),
                                                 (config.master_port, "ROLLOUT_SPARK_CLUSTER_MASTER_PORT"),
                                                 (config.master_ui_port, "ROLLOUT_SPARK_CLUSTER_MASTER_UI_PORT"),
                                                 (config.worker_ui_port, "ROLLOUT_SPARK_CLUSTER_WORKER_UI_PORT"))
             if port_open("127.0.0.1", port)]
    if taken:
        raise ClusterError(f"port(s) already in use by another program: {', '.join(taken)}; free them or choose "
                           f"others with those environment variables")
    home = spark_home()
    if fresh:   # a new catalog and warehouse: no table of an earlier run is left
        for sub in ("metastore_db", "warehouse", "work", "local", "derby.log"):
            path = config.folder / sub
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    for sub in ("pids", "logs", "work", "local"):
        (config.folder / sub).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    launched: list[subprocess.Popen] = []
    try:
        launched.append(master := launch(config, "master", home))
        wait_until(config, master, "master", lambda: (master_state(config) or {}).get("status") == "ALIVE",
                   f"its status on port {config.master_ui_port}")
        launched.append(worker := launch(config, "worker", home))
        wait_until(config, worker, "worker", lambda: (master_state(config) or {}).get("aliveworkers", 0) >= 1,
                   "registered with the master")
        launched.append(thrift := launch(config, "thrift", home))
        wait_until(config, thrift, "thrift", lambda: port_open(config.host, config.port),
                   f"listening on {config.endpoint}")
        wait_until(config, thrift, "thrift", lambda: endpoint_answers(config) is None,
                   f"`select 1` on {config.endpoint}")
        wait_until(config, thrift, "thrift", lambda: _app(config) is not None, "registered with the master")
    except BaseException:
        # nothing half-started is left behind: the groups launched here, by their pids (not the pid files)
        for process in reversed(launched):
            _stop_group(process.pid)
        for name in STOP_ORDER:
            config.pid_file(name).unlink(missing_ok=True)
        raise
    return {**status(config), "seconds": round(time.monotonic() - started, 1)}


def _app(config: Config) -> dict | None:
    """The Thrift Server's application as the master lists it (its cores granted: the executor is up)."""
    for app in (master_state(config) or {}).get("activeapps", []):
        if app.get("name") == APP_NAME and app.get("cores", 0) > 0:
            return app
    return None


def stop(config: Config, grace: float = 30.0) -> dict:
    """SIGTERM each process group (endpoint, worker, master), SIGKILL what is left after `grace` seconds."""
    stopped = {}
    for name in STOP_ORDER:
        pid = running_pid(config, name)
        if pid is not None:
            _stop_group(pid, grace)
            stopped[name] = pid
        config.pid_file(name).unlink(missing_ok=True)
    return stopped


def _stop_group(pgid: int, grace: float = 30.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _group_alive(pgid):
            return


def _group_alive(pgid: int) -> bool:
    try:   # our own child (started by this run): reap it, or it stays a zombie
        os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie leader counts as gone once it is the group's only member
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def status(config: Config) -> dict:
    processes = {name: running_pid(config, name) for name in ("master", "worker", "thrift")}
    state = master_state(config) if processes["master"] else None
    answers = endpoint_answers(config) if processes["thrift"] else "not running"
    app = _app(config) if state else None
    return {
        "folder": str(config.folder),
        "master": config.master_url,
        "master_ui": f"http://127.0.0.1:{config.master_ui_port}",
        "endpoint": config.endpoint,
        "processes": processes,
        "alive_workers": (state or {}).get("aliveworkers", 0),
        "application": {"id": app.get("id"), "cores": app.get("cores"),
                        "memory_per_executor_mb": app.get("memoryperexecutor")} if app else None,
        "endpoint_answers": answers is None,
        "endpoint_error": answers,
        "up": all(processes.values()) and answers is None and app is not None,
    }


def describe(state: dict) -> str:
    lines = [f"spark cluster in {state['folder']}: {'up' if state['up'] else 'NOT up'}"]
    for name, pid in state["processes"].items():
        lines.append(f"  {name:<7} {'pid ' + str(pid) if pid else 'not running'}")
    lines.append(f"  master  {state['master']} (UI {state['master_ui']}), {state['alive_workers']} worker(s) alive")
    app = state["application"]
    lines.append(f"  SQL     {state['endpoint']} (Thrift): "
                 + ("answers" if state["endpoint_answers"] else f"does not answer ({state['endpoint_error']})")
                 + (f"; application {app['id']} with {app['cores']} core(s)" if app else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    start_parser = sub.add_parser("start", help="start master, worker and Thrift Server; wait until ready")
    start_parser.add_argument("--fresh", action="store_true", help="remove the catalog and warehouse first")
    status_parser = sub.add_parser("status", help="exit 0 when everything is up, 3 otherwise")
    status_parser.add_argument("--json", action="store_true")
    sub.add_parser("stop", help="stop all three (nothing running: nothing to do)")
    run_parser = sub.add_parser("run", help="start, run a command, stop (even when it fails)")
    run_parser.add_argument("--fresh", action="store_true", help="remove the catalog and warehouse first")
    run_parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- the command and its arguments")
    args = parser.parse_args(argv)

    try:
        config = Config.from_env()
        if args.action == "status":
            state = status(config)
            print(json.dumps(state, indent=2) if args.json else describe(state))
            return 0 if state["up"] else 3
        if args.action == "stop":
            stopped = stop(config)
            print(f"stopped: {', '.join(f'{n} (pid {p})' for n, p in stopped.items())}" if stopped
                  else f"nothing running from {config.folder}")
            return 0
        if args.action == "start":
            state = start(config, fresh=args.fresh)
            print(describe(state))
            print(f"started in {state['seconds']} s; logs in {config.folder / 'logs'}; "
                  f"`rolloutctl gate --target spark_cluster` connects to {config.endpoint}")
            return 0
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            parser.error("run needs a command: run -- CMD ...")
        # SIGTERM (CI's timeout, make's interrupt) takes the same way out as Ctrl-C: the finally below stops it all
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            state = start(config, fresh=args.fresh)
            print(describe(state), flush=True)
            return subprocess.call(cmd)
        finally:
            stopped = stop(config)
            print(f"stopped: {', '.join(f'{n} (pid {p})' for n, p in stopped.items())}", flush=True)
    except ClusterError as exc:
        print(f"spark_cluster: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
