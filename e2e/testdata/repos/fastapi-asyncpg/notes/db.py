"""The connection pool, made at start-up from DATABASE_URL."""

import os

import asyncpg

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id serial PRIMARY KEY,
    body text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
)
"""


async def create_pool() -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn=os.environ["DATABASE_URL"],
        min_size=1,
        max_size=int(os.getenv("DB_POOL_SIZE", "10")),
    )
    async with pool.acquire() as conn:
        await conn.execute(SCHEMA)
    return pool
