"""The shop's commands: serve (the default in the image), migrate, healthcheck."""

from __future__ import annotations

import argparse
import glob
import logging
import os
import sys
import tempfile
import urllib.request

from . import logs
from .config import Config, ConfigError


def metrics_dir(env) -> str:
    if env.get("PROMETHEUS_MULTIPROC_DIR"):
        return env["PROMETHEUS_MULTIPROC_DIR"]
    # tmpfs, and writable even with a read-only root filesystem.
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    return os.path.join(base, "shop-metrics")


def serve(config: Config) -> int:
    path = metrics_dir(os.environ)
    os.makedirs(path, exist_ok=True)
    # Samples of an earlier server in this directory would be added to this one's.
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    # exec: gunicorn takes this process's place (PID 1 in a container) and receives
    # SIGTERM itself, for a graceful shutdown.
    argv = ["gunicorn", "--config", "python:shop.gunicorn_conf", "shop.wsgi:app"]
    os.execvp(argv[0], argv)
    return 1  # not reached


def migrate(config: Config, wait: float) -> int:
    import psycopg2

    from . import migrations
    from .postgres import connect_args

    log = logging.getLogger("shop.migrate")
    try:
        args = connect_args(config.database_url, config.db_connect_timeout)
        conn = migrations.connect_with_retry(lambda: psycopg2.connect(**args), wait)
        try:
            applied = migrations.migrate(conn)
        finally:
            conn.close()
    except migrations.MigrationError as err:
        log.error("migration failed", extra={"error": str(err)})
        return 1
    log.info("schema up to date", extra={"applied": applied})
    return 0


def healthcheck(config: Config) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{config.port}/healthz", timeout=3) as resp:
            return 0 if resp.status == 200 else 1
    except OSError as err:
        print(f"healthcheck: {err}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve HTTP with gunicorn on $PORT (default 8000)")
    m = sub.add_parser("migrate", help="create or update the database schema, then exit")
    m.add_argument("--wait", type=float, default=60, metavar="SECONDS", help="how long to wait for the database (default 60)")
    sub.add_parser("healthcheck", help="exit 0 if the local server answers /healthz")
    args = parser.parse_args(argv)

    try:
        config = Config.from_env(os.environ)
    except ConfigError as err:
        print(f"shop: {err}", file=sys.stderr)
        return 2
    if args.command == "healthcheck":
        return healthcheck(config)
    logs.setup(config.log_level)
    if args.command == "serve":
        return serve(config)
    return migrate(config, args.wait)


if __name__ == "__main__":
    sys.exit(main())
