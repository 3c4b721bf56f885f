'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { escape } = require('../app');

test('escape keeps markup out of task titles', () => {
  assert.strictEqual(escape('<b>&"'), '&#60;b&#62;&#38;&#34;');
});
