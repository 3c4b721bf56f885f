'use strict';

const express = require('express');
const client = require('prom-client');

// makeApp builds the HTTP app around a store (a pg.Pool in production, a stand-in in tests).
function makeApp(store, registry = new client.Registry()) {
  client.collectDefaultMetrics({ register: registry });
  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });

  const app = express();
  app.use(express.json());
  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = req.route ? req.route.path : 'unmatched';
      requests.inc({ route, method: req.method, status: res.statusCode });
    });
    next();
  });

  app.get('/healthz', async (req, res) => {
    try {
      await store.query('SELECT 1');
      res.json({ status: 'ok' });
    } catch (err) {
      res.status(503).json({ status: 'unavailable' });
    }
  });

  app.get('/metrics', async (req, res) => {
    res.set('Content-Type', registry.contentType);
    res.end(await registry.metrics());
  });

  app.get('/products', async (req, res) => {
    const { rows } = await store.query('SELECT id, name, price_cents FROM products ORDER BY id');
    res.json(rows);
  });

  return app;
}

module.exports = { makeApp };
