import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enrollRequest, enrollmentOutcome, enrollmentSecret, needsEnrollment, sameServer } from '../lib/enrollment.js';

const facts = { serial: '5CD1234XYZ', model: 'Chromebook 311', manufacturer: 'Acer', osVersion: '129.0', name: 'CB-0412' };

test('enrollRequest_FirstEnrollment_CarriesNoCredential', () => {
  assert.deepEqual(enrollRequest('hre_t', facts, 'https://homeroom.example.org', null), {
    token: 'hre_t', platform: 'chromeos', serial: '5CD1234XYZ', model: 'Chromebook 311', manufacturer: 'Acer',
    osVersion: '129.0', name: 'CB-0412', agentVersion: 'homeroom-extension/1.0.0',
  });
});

test('enrollRequest_EnrollingAgainAtTheSameServer_PresentsTheCredentialItHas', () => {
  const previous = { serverUrl: 'https://homeroom.example.org/', deviceId: 'd-1', credential: 'hrd_old', stale: true };
  assert.equal(enrollRequest('hre_t', facts, 'https://homeroom.example.org', previous).credential, 'hrd_old');
});

test('enrollRequest_AnotherServer_NeverGetsTheCredential', () => {
  const previous = { serverUrl: 'https://homeroom.example.org', deviceId: 'd-1', credential: 'hrd_old' };
  assert.equal('credential' in enrollRequest('hre_t', facts, 'https://other.example.org', previous), false);
  assert.equal('credential' in enrollRequest('hre_t', facts, 'http://homeroom.example.org', previous), false);
  assert.equal('credential' in enrollRequest('hre_t', facts, 'https://homeroom.example.org:8443', previous), false);
});

test('enrollRequest_ClipsTheNameAndDropsAbsentFacts', () => {
  const body = enrollRequest('hre_t', { serial: 'S', name: 'n'.repeat(300) }, 'https://h.example', undefined);
  assert.equal(body.name.length, 200);
  assert.equal('model' in body, false);
});

test('enrollmentOutcome_409WaitsForApproval_TokenRefusalsStop_OthersRetry', () => {
  assert.equal(enrollmentOutcome(200), 'enrolled');
  assert.equal(enrollmentOutcome(409), 'await-approval');
  for (const status of [400, 401, 403]) assert.equal(enrollmentOutcome(status), 'stop');
  for (const status of [429, 500, 503]) assert.equal(enrollmentOutcome(status), 'retry');
});

test('needsEnrollment_OnlyWithoutAValidCredentialForThisServer', () => {
  const enrollment = { serverUrl: 'https://homeroom.example.org', deviceId: 'd-1', credential: 'hrd_x' };
  assert.equal(needsEnrollment(null, 'https://homeroom.example.org'), true);
  assert.equal(needsEnrollment(enrollment, 'https://homeroom.example.org/'), false);
  assert.equal(needsEnrollment({ ...enrollment, stale: true }, 'https://homeroom.example.org'), true);
  assert.equal(needsEnrollment(enrollment, 'https://new.example.org'), true);
});

test('sameServer_ComparesSchemeHostAndPort', () => {
  assert.equal(sameServer('https://a.example/x', 'https://a.example/'), true);
  assert.equal(sameServer('https://a.example', 'not a url'), false);
});

test('enrollmentSecret_DesktopCompanionCredential_IsUsedInPlaceOfTheToken', () => {
  assert.equal(enrollmentSecret({ companionCredential: 'hrc_abc', enrollmentToken: 'hre_t' }), 'hrc_abc');
  assert.equal(enrollmentSecret({ companionCredential: 'hrc_abc', enrollmentToken: '' }), 'hrc_abc');
  const body = enrollRequest(enrollmentSecret({ companionCredential: 'hrc_abc' }), facts, 'https://homeroom.example.org', null);
  assert.equal(body.token, 'hrc_abc');
  assert.equal(body.platform, 'chromeos');
});

test('enrollmentSecret_NoOrAForeignCompanionValue_FallsBackToTheToken', () => {
  assert.equal(enrollmentSecret({ companionCredential: '', enrollmentToken: 'hre_t' }), 'hre_t');
  assert.equal(enrollmentSecret({ companionCredential: 'hre_not_a_companion', enrollmentToken: 'hre_t' }), 'hre_t');
  assert.equal(enrollmentSecret({ enrollmentToken: 'hre_t' }), 'hre_t');
  assert.equal(enrollmentSecret({}), '');
});
