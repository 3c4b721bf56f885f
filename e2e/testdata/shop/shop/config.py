"""Settings read from the environment, checked once at start-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping


class ConfigError(ValueError):
    """A setting is wrong; the message names it, says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Config:
    # An empty DSN lets libpq read the PG* variables (PGHOST, PGUSER, PGPASSWORD, ...).
    database_url: str = ""
    port: int = 8000
    workers: int = 2
    log_level: str = "INFO"
    db_connect_timeout: int = 3
    # A worker left with no answer this long is killed and replaced.
    request_timeout: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Config":
        level = env.get("LOG_LEVEL", cls.log_level).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(
                f'LOG_LEVEL: "{env["LOG_LEVEL"]}" is not a log level; '
                "use DEBUG, INFO, WARNING or ERROR"
            )
        return cls(
            database_url=env.get("DATABASE_URL", ""),
            port=_int(env, "PORT", cls.port, 1, 65535),
            # WEB_CONCURRENCY is the name gunicorn and most platforms use.
            workers=_int(env, "WEB_CONCURRENCY", cls.workers, 1, 64),
            log_level=level,
            db_connect_timeout=_int(env, "DB_CONNECT_TIMEOUT", cls.db_connect_timeout, 1, 60),
            request_timeout=_int(env, "REQUEST_TIMEOUT", cls.request_timeout, 1, 3600),
        )

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        raise ConfigError(f'{name}: "{raw}" is not valid; use a whole number from {lo} to {hi}')
    return value
