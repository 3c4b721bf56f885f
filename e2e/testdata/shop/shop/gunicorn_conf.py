"""gunicorn's settings (`gunicorn --config python:shop.gunicorn_conf`), from the same environment."""

import os

from prometheus_client import multiprocess

from shop import logs
from shop.config import Config

_config = Config.from_env(os.environ)

bind = f"0.0.0.0:{_config.port}"
workers = _config.workers
timeout = _config.request_timeout
# Kubernetes sends SIGTERM, then SIGKILL after terminationGracePeriodSeconds (30 s by
# default): finish the requests in flight well before that.
graceful_timeout = 20
# The workers' heartbeat files: tmpfs, and writable with a read-only root filesystem.
worker_tmp_dir = "/dev/shm"
# Load balancers keep connections open longer than gunicorn's default 2 s.
keepalive = 5
accesslog = None
logconfig_dict = logs.gunicorn_config(_config.log_level)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
