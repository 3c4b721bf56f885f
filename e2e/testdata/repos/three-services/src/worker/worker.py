"""Runs the tasks queued on Redis list "tasks", one at a time: python worker.py"""

import json
import logging
import os
import signal

import redis

log = logging.getLogger("worker")


def handle(task: dict) -> str:
    kind = task.get("kind")
    if kind == "echo":
        return str(task.get("text", ""))
    raise ValueError(f"kind: {kind!r} is not a task kind; use \"echo\"")


def run(client: "redis.Redis", stop) -> None:
    while not stop():
        item = client.blpop(["tasks"], timeout=1)
        if item is None:
            continue
        try:
            result = handle(json.loads(item[1]))
            client.rpush("results", result)
        except (ValueError, json.JSONDecodeError) as err:
            log.error("task rejected: %s", err)


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    run(client, lambda: bool(stopping))


if __name__ == "__main__":
    main()
