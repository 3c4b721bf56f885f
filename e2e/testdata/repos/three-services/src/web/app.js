'use strict';

const express = require('express');

function makeApp(apiURL) {
  const app = express();
  app.get('/healthz', (req, res) => res.send('ok'));
  app.get('/', async (req, res) => {
    const tasks = await (await fetch(`${apiURL}/tasks`)).json();
    res.type('html').send(`<ul>${tasks.map((t) => `<li>${escape(t.title)}</li>`).join('')}</ul>`);
  });
  return app;
}

function escape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

module.exports = { makeApp, escape };
