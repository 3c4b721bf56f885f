'use strict';

const { makeApp } = require('./app');

const port = process.env.PORT || 3000;
makeApp(process.env.API_URL || 'http://api:8080').listen(port, () => {
  console.log(`web: listening on :${port}`);
});
