import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { parseDvsConfig } from '@dvs/grammar';

import { configTemplate } from '../src/model/template';

test('the dvs.json template is valid for the shared loader', () => {
  const parsed = parseDvsConfig(configTemplate('demo'), 'dvs.json');
  assert.deepEqual(parsed.errors, []);
  assert.equal(parsed.config?.cluster.name, 'demo');
  assert.equal(parsed.config?.nodes.length, 2);
  assert.ok((parsed.config?.protocol?.types.length ?? 0) > 0);
});
