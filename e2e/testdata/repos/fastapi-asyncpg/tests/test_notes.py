from fastapi.testclient import TestClient

from notes.main import app


def test_health_and_notes():
    # Runs against the PostgreSQL that DATABASE_URL names.
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        created = client.post("/notes", json={"body": "buy milk"})
        assert created.status_code == 201
        note = client.get(f"/notes/{created.json()['id']}").json()
        assert note["body"] == "buy milk"
        assert client.get("/notes/999999").status_code == 404
        assert "http_requests_total" in client.get("/metrics").text


def test_rejects_empty_note():
    with TestClient(app) as client:
        assert client.post("/notes", json={"body": ""}).status_code == 422
