// The answer to `diagnose` (docs/agent-protocol.md, "diagnostics"): what a Chrome extension can really read
// about its Chromebook, and a connection test to the Homeroom server and the district's sites. What it cannot
// read (uptime, free storage, batteries, logs, OS updates) is named in `unavailable`, as every agent does.
// Everything browser-specific comes in through `env`, so the Node tests drive the same code as the worker.

export const MAX_SITES = 7;
export const PROBE_TIMEOUT_MS = 5000;
/** The server's text frame limit (MaxTextFrameBytes). */
export const MAX_TEXT_FRAME_BYTES = 64 * 1024;
const MAX_SHORT = 256;
const MAX_URL = 2048;
const MAX_NOTES = 32;

function clip(text, max = MAX_SHORT) {
  return typeof text === 'string' && text.length > max ? text.slice(0, max) : text;
}

function compact(object) {
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

async function attempt(fn) {
  try {
    return await fn();
  } catch {
    return undefined;
  }
}

/**
 * The `urls` argument: space-separated https URLs without user info, at most seven (the server checked them
 * when the command was issued; anything else is skipped here rather than tested).
 */
export function parseSites(text) {
  if (typeof text !== 'string') return [];
  const sites = [];
  for (const part of text.split(' ').filter(Boolean)) {
    if (sites.length === MAX_SITES) break;
    try {
      const url = new URL(part);
      if (url.protocol === 'https:' && !url.username && !url.password && part.length <= MAX_URL) sites.push(url.toString());
    } catch {
      // Not a URL: not tested.
    }
  }
  return sites;
}

/**
 * One connection test: an HTTP HEAD within five seconds; `ok` is an answer below 500. A browser's fetch does
 * not say whether DNS, TCP or TLS failed, so a network failure is reported at the `tcp` step with Chrome's words.
 */
export async function probe(fetchFn, target, url, { timeoutMs = PROBE_TIMEOUT_MS, now = () => Date.now() } = {}) {
  const started = now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetchFn(url, { method: 'HEAD', cache: 'no-store', credentials: 'omit', redirect: 'manual', signal: controller.signal });
    const status = response.status >= 100 && response.status <= 599 ? response.status : undefined;
    const ok = status !== undefined ? status < 500 : response.type === 'opaqueredirect';
    return compact({ target, url, ok, milliseconds: Math.max(0, Math.round(now() - started)), httpStatus: status,
      error: ok ? undefined : status ? `http: the server answered ${status}` : undefined });
  } catch (error) {
    const timedOut = controller.signal.aborted;
    return compact({ target, url, ok: false, milliseconds: Math.max(0, Math.round(now() - started)),
      error: clip(timedOut ? `timeout: no answer within ${Math.round(timeoutMs / 1000)} s` : `tcp: the request failed (${error?.message ?? error}; Chrome does not tell an extension whether DNS, TCP or TLS failed)`) });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Gathers the report.
 * @param {object} env
 * @param {object} env.chrome the extension API (runtime, system.cpu, system.memory, enterprise.networkingAttributes, management)
 * @param {object} [env.navigator] the worker's navigator (userAgent, connection)
 * @param {Function} env.fetch
 * @param {string} env.serverUrl the Homeroom server
 * @param {string[]} env.sites the district's sites to test
 * @param {{ version: number, failures: string[] | null }} env.policy the policy applied and what did not take effect
 * @param {{ managed: boolean, state?: string }} env.config whether the configuration came from managed storage, and the connection state
 */
export async function gatherReport(env) {
  const { chrome: api, navigator: nav = {}, fetch: fetchFn, serverUrl, sites = [], policy, config = {} } = env;
  const now = env.now ?? (() => Date.now());
  const unavailable = [];
  const facts = {};
  const platform = await attempt(() => api.runtime.getPlatformInfo());
  const chromeVersion = /Chrome\/([0-9.]+)/.exec(nav.userAgent ?? '')?.[1];
  const manifest = api.runtime.getManifest?.() ?? {};
  if (platform?.arch) facts.arch = platform.arch;

  const cpu = api.system?.cpu ? await attempt(() => api.system.cpu.getInfo()) : undefined;
  if (cpu) {
    if (cpu.modelName) facts.cpuModel = clip(cpu.modelName);
    if (Number.isFinite(cpu.numOfProcessors)) facts.cpuCores = String(cpu.numOfProcessors);
  } else {
    unavailable.push('processor: chrome.system.cpu is not available');
  }

  const memoryInfo = api.system?.memory ? await attempt(() => api.system.memory.getInfo()) : undefined;
  const memory = memoryInfo && Number.isFinite(memoryInfo.capacity) && Number.isFinite(memoryInfo.availableCapacity)
    ? { totalBytes: Math.max(0, Math.round(memoryInfo.capacity)), availableBytes: Math.max(0, Math.min(Math.round(memoryInfo.availableCapacity), Math.round(memoryInfo.capacity))) }
    : undefined;
  if (!memory) unavailable.push('memory: chrome.system.memory is not available');

  // The address the device has on its network: only for a force-installed extension on a managed Chromebook.
  const attributes = api.enterprise?.networkingAttributes;
  const network = attributes ? await attempt(() => new Promise((resolve, reject) => attributes.getNetworkDetails((value) => (api.runtime.lastError ? reject(api.runtime.lastError) : resolve(value))))) : undefined;
  const connection = nav.connection;
  const kind = connection?.type && connection.type !== 'unknown' ? connection.type : undefined;
  let interfaces;
  if (network && (network.ipv4 || network.ipv6)) {
    interfaces = [compact({ name: 'active network', up: true, kind, addresses: [network.ipv4, network.ipv6].filter(Boolean).map((a) => clip(a, 64)) })];
    if (network.macAddress) facts.macAddress = clip(network.macAddress);
  } else {
    unavailable.push('network addresses: only a force-installed extension on a managed Chromebook may read them (chrome.enterprise.networkingAttributes)');
  }
  if (connection) {
    if (connection.effectiveType) facts.effectiveType = clip(connection.effectiveType);
    if (Number.isFinite(connection.downlink)) facts.downlinkMbps = String(connection.downlink);
    if (Number.isFinite(connection.rtt)) facts.rttMs = String(connection.rtt);
  }

  const self = api.management?.getSelf ? await attempt(() => api.management.getSelf()) : undefined;
  if (self?.installType) facts.installType = clip(self.installType);
  facts.managedConfiguration = config.managed ? 'yes' : 'no';
  if (config.state) facts.connection = clip(config.state);

  const connectivity = [];
  if (serverUrl) connectivity.push(await probe(fetchFn, 'homeroom', new URL('/healthz', `${serverUrl}/`).toString(), { now }));
  for (const site of sites.slice(0, MAX_SITES)) connectivity.push(await probe(fetchFn, 'site', site, { now }));

  unavailable.push(
    'uptime and kernel: a Chrome extension cannot read them',
    'storage: a Chrome extension cannot read the device\'s free space (chrome.system.storage reports removable media only)',
    'batteries: the Battery Status API is not offered to an extension\'s service worker',
    'logs: the extension keeps no log',
    'pending updates: ChromeOS updates itself; Google Admin shows its update state',
  );

  const failures = (policy?.failures ?? []).slice(0, 64).map((f) => clip(f));
  return compact({
    gatheredAt: new Date(now()).toISOString(),
    osName: platform?.os === 'cros' ? 'ChromeOS' : platform?.os ? `Chrome on ${platform.os}` : undefined,
    osVersion: chromeVersion,
    agentVersion: `homeroom-extension/${manifest.version ?? 'unknown'}`,
    memory,
    interfaces,
    connectivity,
    policy: { version: Math.max(0, policy?.version ?? 0), applied: failures.length === 0, failures },
    unavailable: unavailable.slice(0, MAX_NOTES).map((n) => clip(n)),
    facts: Object.fromEntries(Object.entries(facts).slice(0, MAX_NOTES)),
  });
}

/** The `diagnostics` frame; null if it would not fit one text frame (it always does: no part of it grows without bound). */
export function diagnosticsFrame(commandId, report) {
  const frame = { type: 'diagnostics', commandId, report };
  return new TextEncoder().encode(JSON.stringify(frame)).length <= MAX_TEXT_FRAME_BYTES ? frame : null;
}

/** The command's result: `report sent`, with the connection tests that failed. */
export function diagnoseResult(report) {
  const failed = (report.connectivity ?? []).filter((c) => !c.ok).length;
  return failed === 0 ? 'report sent' : `report sent; ${failed} connection test(s) failed`;
}
