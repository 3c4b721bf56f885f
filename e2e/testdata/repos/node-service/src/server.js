'use strict';

const { Pool } = require('pg');
const { makeApp } = require('./app');

const port = Number(process.env.PORT || 3000);
const pool = new Pool({ connectionString: process.env.DATABASE_URL });

const server = makeApp(pool).listen(port, () => {
  console.log(`catalog: listening on :${port}`);
});

process.on('SIGTERM', () => {
  server.close(() => pool.end());
});
