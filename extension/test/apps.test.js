import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogLists, catalogPlan } from '../lib/apps.js';

const A = 'aapocclcgogkmnckokdopfmhonfmgoek';
const B = 'ghbmnnjooekpmoecnnnilnnbdlolhkhi';
const C = 'inoeonmfapjbbkmdafoankkfajkcphgd';
const SELF = 'bihmplhobchoageeokmgbdihknkjbknd';

test('catalogLists keeps only valid extension ids, once each', () => {
  const lists = catalogLists({ blockedExtensions: [A, A, 'not-an-id', 42, 'AAPOCCLCGOGKMNCKOKDOPFMHONFMGOEK'], disabledExtensions: 'nope', requiredExtensions: [B] });
  assert.deepEqual(lists, { blocked: [A], disabled: [], required: [B] });
  assert.deepEqual(catalogLists(undefined), { blocked: [], disabled: [], required: [] });
});

test('catalogPlan turns off blocked and disabled extensions that are on, never itself', () => {
  const plan = catalogPlan({ blocked: [A, SELF], disabled: [B], required: [] },
    [{ id: A, enabled: true }, { id: B, enabled: false }, { id: SELF, enabled: true }], [], SELF);
  assert.deepEqual(plan.disable, [A]);
  assert.deepEqual(plan.stillOff, [A, B]);
  assert.deepEqual(plan.enable, []);
});

test('catalogPlan turns back on only what it turned off and is no longer blocked', () => {
  const plan = catalogPlan({ blocked: [], disabled: [], required: [] },
    [{ id: A, enabled: false }, { id: B, enabled: false }], [A], SELF);
  assert.deepEqual(plan.enable, [A]);
});

test('catalogPlan names required extensions that are not installed', () => {
  const plan = catalogPlan({ blocked: [], disabled: [], required: [A, C] }, [{ id: A, enabled: true }], [], SELF);
  assert.deepEqual(plan.missing, [C]);
});
