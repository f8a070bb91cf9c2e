// switchyard/bridge, MQTT topic mapping (crates/wasm/js/bridge/mqtt/topics.js): bus topics and
// patterns ↔ MQTT topics and filters, and what MQTT would read differently is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importBridgeSource } from './helpers/bridge.mjs';
import { importPackage } from './helpers/package.mjs';

const { toMqttTopic, fromMqttTopic, toMqttFilter, matches, checkPrefix } = await importBridgeSource('topics.js');
const { SwitchyardError } = await importPackage();

function refused(fn, code, pattern) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof SwitchyardError, `a SwitchyardError, got ${error}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

test('a bus topic maps to prefix/levels and back', () => {
  assert.equal(toMqttTopic('a.b.c', 'sy'), 'sy/a/b/c');
  assert.equal(toMqttTopic('a', 'app/v1'), 'app/v1/a');
  assert.equal(toMqttTopic('a.b', ''), 'a/b');
  assert.equal(fromMqttTopic('sy/a/b/c', 'sy'), 'a.b.c');
  assert.equal(fromMqttTopic('app/v1/a', 'app/v1'), 'a');
  assert.equal(fromMqttTopic('a/b', ''), 'a.b');
});

test('an incoming MQTT topic outside the prefix or with a level the bus cannot hold maps to nothing', () => {
  assert.equal(fromMqttTopic('other/a', 'sy'), null);
  assert.equal(fromMqttTopic('syx/a', 'sy'), null);
  assert.equal(fromMqttTopic('sy', 'sy'), null);
  assert.equal(fromMqttTopic('sy/', 'sy'), null);
  assert.equal(fromMqttTopic('sy/a//b', 'sy'), null);
  assert.equal(fromMqttTopic('sy/a.b', 'sy'), null, 'a level with a dot would be two bus segments');
  assert.equal(fromMqttTopic('sy/$x', 'sy'), null);
});

test('wildcards map: * to +, a trailing ** to #', () => {
  assert.deepEqual(toMqttFilter('a.*.c', 'sy'), { filter: 'sy/a/+/c', exact: true });
  assert.deepEqual(toMqttFilter('a.**', 'sy'), { filter: 'sy/a/#', exact: true });
  assert.deepEqual(toMqttFilter('**', 'sy'), { filter: 'sy/#', exact: true });
  assert.deepEqual(toMqttFilter('*', ''), { filter: '+', exact: true });
  assert.deepEqual(toMqttFilter('a.b', 'sy'), { filter: 'sy/a/b', exact: true });
});

test('a ** before the last segment subscribes to the longest prefix and is filtered locally', () => {
  assert.deepEqual(toMqttFilter('a.**.c', 'sy'), { filter: 'sy/a/#', exact: false });
  assert.deepEqual(toMqttFilter('a.*.**.d', 'sy'), { filter: 'sy/a/+/#', exact: false });
  assert.deepEqual(toMqttFilter('**.failed', 'sy'), { filter: 'sy/#', exact: false });
  assert.equal(matches('a.**.c', 'a.c'), true);
  assert.equal(matches('a.**.c', 'a.x.y.c'), true);
  assert.equal(matches('a.**.c', 'a.x.y'), false);
  assert.equal(matches('**.failed', 'job.failed'), true);
  assert.equal(matches('**.failed', 'failed'), true);
  assert.equal(matches('**.failed', 'failed.not'), false);
  assert.equal(matches('a.*.c', 'a.b.c'), true);
  assert.equal(matches('a.*.c', 'a.c'), false);
  assert.equal(matches('a.**', 'a'), true);
});

test('a segment holding /, + or # or starting with $ is refused with a SwitchyardError naming it', () => {
  refused(() => toMqttTopic('a.b/c', 'sy'), 'E_INVALID_TOPIC', /segment 'b\/c' holds '\/'/);
  refused(() => toMqttTopic('a.b+', 'sy'), 'E_INVALID_TOPIC', /segment 'b\+' holds '\+'/);
  refused(() => toMqttTopic('a.#', 'sy'), 'E_INVALID_TOPIC', /segment '#' holds '#'/);
  refused(() => toMqttTopic('$SYS.x', 'sy'), 'E_INVALID_TOPIC', /segment '\$SYS' starts with '\$'/);
  refused(() => toMqttFilter('a.*.b/c', 'sy'), 'E_INVALID_PATTERN', /pattern 'a\.\*\.b\/c' cannot be bridged/);
  refused(() => toMqttFilter('$share.**', 'sy'), 'E_INVALID_PATTERN', /starts with '\$'/);
  // `$` inside a segment is fine.
  assert.equal(toMqttTopic('price.us$', 'sy'), 'sy/price/us$');
});

test('a prefix with a wildcard, an empty level or a leading $ is refused', () => {
  refused(() => checkPrefix('a/+'), 'E_INVALID_OPTION', /wildcard/);
  refused(() => checkPrefix('a//b'), 'E_INVALID_OPTION', /empty level/);
  refused(() => checkPrefix('/a'), 'E_INVALID_OPTION', /empty level/);
  refused(() => checkPrefix('$SYS'), 'E_INVALID_OPTION', /starts with '\$'/);
  refused(() => checkPrefix(7), 'E_INVALID_OPTION', /string/);
  assert.equal(checkPrefix(''), '');
  assert.equal(checkPrefix('app/v1'), 'app/v1');
});
