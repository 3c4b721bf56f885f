'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { makeApp } = require('../src/app');

function serve(store) {
  return new Promise((resolve) => {
    const server = makeApp(store).listen(0, () => resolve(server));
  });
}

test('healthz answers ok when the database does', async (t) => {
  const server = await serve({ query: async () => ({ rows: [] }) });
  t.after(() => server.close());
  const res = await fetch(`http://127.0.0.1:${server.address().port}/healthz`);
  assert.strictEqual(res.status, 200);
  assert.deepStrictEqual(await res.json(), { status: 'ok' });
});

test('healthz answers 503 when the database does not', async (t) => {
  const server = await serve({ query: async () => { throw new Error('down'); } });
  t.after(() => server.close());
  const res = await fetch(`http://127.0.0.1:${server.address().port}/healthz`);
  assert.strictEqual(res.status, 503);
});

test('metrics are exported', async (t) => {
  const server = await serve({ query: async () => ({ rows: [] }) });
  t.after(() => server.close());
  await fetch(`http://127.0.0.1:${server.address().port}/products`);
  const body = await (await fetch(`http://127.0.0.1:${server.address().port}/metrics`)).text();
  assert.match(body, /http_requests_total\{route="\/products",method="GET",status="200"\} 1/);
});
