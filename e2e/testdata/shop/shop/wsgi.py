"""The WSGI entry point gunicorn loads in each worker: shop.wsgi:app."""

import os

from . import logs
from .app import create_app
from .config import Config
from .metrics import Metrics
from .postgres import PostgresStore

config = Config.from_env(os.environ)
logs.setup(config.log_level)
app = create_app(
    PostgresStore(config.database_url, config.db_connect_timeout),
    Metrics(multiproc_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")),
)
