// Enrollment (POST /agent/v1/enroll, docs/agent-protocol.md §2): the request body and what to do
// with the answer. A serial number is no secret, so the server enrolls an existing device again
// only when the request proves it comes from that device (its current credential) or an
// administrator approved it; this agent therefore presents the credential it has whenever it
// enrolls again, and only to the server that issued it.

import { AGENT_VERSION } from './frames.js';

/** How long to wait before asking again while an administrator's approval is needed. */
export const APPROVAL_RETRY_MS = 5 * 60_000;

function clip(text, max) {
  return typeof text === 'string' && text.length > max ? text.slice(0, max) : text;
}

/**
 * The secret to enroll with: on a desktop whose Homeroom agent gave the browser this extension, its companion credential
 * (`hrc_…`, from managed policy only), with which the extension enrolls as a companion of that computer rather than as a
 * device of its own; otherwise the district enrollment token. '' when there is neither.
 */
export function enrollmentSecret(config) {
  const companion = config?.companionCredential;
  if (typeof companion === 'string' && companion.startsWith('hrc_')) return companion;
  return typeof config?.enrollmentToken === 'string' ? config.enrollmentToken : '';
}

/** True when both addresses name the same server (scheme, host and port): the agent's paths are absolute. */
export function sameServer(a, b) {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * The enrollment body. `previous` is the enrollment this agent already has (for example one whose
 * credential the server refused with 4401): its credential goes along when `serverUrl` is the
 * server that issued it, and never to another server.
 */
export function enrollRequest(token, facts, serverUrl, previous) {
  const body = {
    token,
    platform: 'chromeos',
    serial: facts.serial,
    model: clip(facts.model, 256),
    manufacturer: clip(facts.manufacturer, 256),
    osVersion: clip(facts.osVersion, 256),
    name: clip(facts.name, 200),
    agentVersion: AGENT_VERSION,
  };
  if (previous?.credential && sameServer(previous.serverUrl, serverUrl)) body.credential = previous.credential;
  for (const key of Object.keys(body)) {
    if (body[key] === undefined || body[key] === null) delete body[key];
  }
  return body;
}

/**
 * What an enrollment answer means for the agent:
 * `enrolled`; `await-approval` (409: the device is already enrolled, or revoked, and only an
 * administrator's approval lets it enroll again: ask again now and then); `stop` (the token is
 * unknown, revoked, used up or of another school: nothing changes until the configuration does);
 * `retry` (the server is busy or unreachable: back off and try again).
 */
export function enrollmentOutcome(status) {
  if (status >= 200 && status < 300) return 'enrolled';
  if (status === 409) return 'await-approval';
  if (status === 400 || status === 401 || status === 403) return 'stop';
  return 'retry';
}

/** Whether the agent must enroll before connecting: no enrollment, a refused credential, or another server. */
export function needsEnrollment(enrollment, serverUrl) {
  return !enrollment || enrollment.stale === true || !sameServer(enrollment.serverUrl, serverUrl);
}
