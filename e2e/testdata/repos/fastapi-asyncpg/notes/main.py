"""The HTTP API: uvicorn notes.main:app"""

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from prometheus_fastapi_instrumentator import Instrumentator
from pydantic import BaseModel, Field

from .db import create_pool


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pool = await create_pool()
    yield
    await app.state.pool.close()


app = FastAPI(title="notes", lifespan=lifespan)
Instrumentator().instrument(app).expose(app, endpoint="/metrics")


@app.get("/health")
async def health(request: Request):
    async with request.app.state.pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
    return {"status": "ok"}


@app.post("/notes", status_code=201)
async def create_note(note: NoteIn, request: Request):
    async with request.app.state.pool.acquire() as conn:
        row = await conn.fetchrow("INSERT INTO notes (body) VALUES ($1) RETURNING id, body", note.body)
    return dict(row)


@app.get("/notes/{note_id}")
async def get_note(note_id: int, request: Request):
    async with request.app.state.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT id, body FROM notes WHERE id = $1", note_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"note {note_id} not found")
    return dict(row)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
