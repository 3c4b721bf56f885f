def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_add_and_list(client):
    resp = client.post("/items", json={"sku": "BOLT-8", "quantity": 40})
    assert resp.status_code == 201
    assert client.get("/items").get_json() == [{"id": 1, "sku": "BOLT-8", "quantity": 40}]


def test_rejects_bad_item(client):
    assert client.post("/items", json={"sku": "", "quantity": -1}).status_code == 400
