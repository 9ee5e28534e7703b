import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { diagnoseResult, diagnosticsFrame, gatherReport, parseSites, probe } from '../lib/diagnostics.js';

// A real HTTP server on loopback: /healthz answers 200, /broken 503, /slow never.
async function withServer(fn) {
  const server = http.createServer((request, response) => {
    if (request.url === '/slow') return;
    response.writeHead(request.url === '/broken' ? 503 : 200).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn(`http://127.0.0.1:${server.address().port}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

function fakeChrome({ managedNetwork = true } = {}) {
  return {
    runtime: { lastError: undefined, getPlatformInfo: async () => ({ os: 'cros', arch: 'x86-64' }), getManifest: () => ({ version: '1.0.0' }) },
    system: {
      cpu: { getInfo: async () => ({ modelName: 'Intel(R) Celeron(R) N4500', numOfProcessors: 2, archName: 'x86_64' }) },
      memory: { getInfo: async () => ({ capacity: 4_000_000_000, availableCapacity: 1_500_000_000 }) },
    },
    enterprise: managedNetwork ? { networkingAttributes: { getNetworkDetails: (cb) => cb({ macAddress: '00:11:22:33:44:55', ipv4: '10.20.4.17', ipv6: 'fe80::1' }) } } : undefined,
    management: { getSelf: async () => ({ installType: 'admin' }) },
  };
}

const navigator = { userAgent: 'Mozilla/5.0 (X11; CrOS x86_64 15917.71.0) Chrome/132.0.6834.0 Safari/537.36', connection: { type: 'wifi', effectiveType: '4g', downlink: 10, rtt: 50 } };

test('gatherReport_OnAManagedChromebook_ReportsWhatAnExtensionCanReadAndNamesTheRest', async () => {
  await withServer(async (base) => {
    const report = await gatherReport({
      chrome: fakeChrome(), navigator, fetch, serverUrl: base, sites: [`${base}/broken`],
      policy: { version: 4, failures: ['restrictions.camera: not supported by the Chrome extension (set it in Google Admin)'] },
      config: { managed: true, state: 'online' },
    });

    assert.equal(report.osName, 'ChromeOS');
    assert.equal(report.osVersion, '132.0.6834.0');
    assert.equal(report.agentVersion, 'homeroom-extension/1.0.0');
    assert.deepEqual(report.memory, { totalBytes: 4_000_000_000, availableBytes: 1_500_000_000 });
    assert.deepEqual(report.interfaces, [{ name: 'active network', up: true, kind: 'wifi', addresses: ['10.20.4.17', 'fe80::1'] }]);
    assert.equal(report.facts.macAddress, '00:11:22:33:44:55');
    assert.equal(report.facts.cpuCores, '2');
    assert.equal(report.facts.installType, 'admin');
    assert.equal(report.facts.managedConfiguration, 'yes');
    assert.equal(report.facts.effectiveType, '4g');
    const [server, site] = report.connectivity;
    assert.equal(server.target, 'homeroom');
    assert.equal(server.url, `${base}/healthz`);
    assert.equal(server.ok, true);
    assert.equal(server.httpStatus, 200);
    assert.equal(site.ok, false);
    assert.equal(site.httpStatus, 503);
    assert.match(site.error, /^http: /);
    assert.deepEqual(report.policy, { version: 4, applied: false, failures: ['restrictions.camera: not supported by the Chrome extension (set it in Google Admin)'] });
    for (const missing of ['uptime', 'storage', 'batteries', 'logs', 'pending updates']) {
      assert.ok(report.unavailable.some((n) => n.startsWith(missing)), missing);
    }
    assert.equal(report.uptimeSeconds, undefined);
    assert.equal(report.disks, undefined);
    assert.equal(diagnoseResult(report), 'report sent; 1 connection test(s) failed');
  });
});

test('gatherReport_WithoutEnterpriseApis_LeavesAddressesOutAndSaysWhy', async () => {
  await withServer(async (base) => {
    const report = await gatherReport({ chrome: fakeChrome({ managedNetwork: false }), navigator: {}, fetch, serverUrl: base, policy: { version: 0, failures: [] } });
    assert.equal(report.interfaces, undefined);
    assert.ok(report.unavailable.some((n) => n.startsWith('network addresses')));
    assert.equal(report.policy.applied, true);
    assert.equal(diagnoseResult(report), 'report sent');
  });
});

test('probe_NoAnswerWithinTheLimit_IsATimeout', async () => {
  await withServer(async (base) => {
    const check = await probe(fetch, 'site', `${base}/slow`, { timeoutMs: 200 });
    assert.equal(check.ok, false);
    assert.match(check.error, /^timeout: /);
    assert.equal(check.httpStatus, undefined);
  });
});

test('probe_NothingListening_FailsAtTheTcpStep', async () => {
  const port = await withServer(async (base) => new URL(base).port);
  const check = await probe(fetch, 'homeroom', `http://127.0.0.1:${port}/healthz`);
  assert.equal(check.ok, false);
  assert.match(check.error, /^tcp: /);
});

test('parseSites_KeepsAtMostSevenHttpsUrlsWithoutUserInfo', () => {
  const many = Array.from({ length: 9 }, (_, i) => `https://s${i}.example.org/`).join(' ');
  assert.equal(parseSites(many).length, 7);
  assert.deepEqual(parseSites('http://plain.example.org/ https://user:pw@x.example.org/ nonsense https://ok.example.org/a'), ['https://ok.example.org/a']);
  assert.deepEqual(parseSites(undefined), []);
});

test('diagnosticsFrame_FitsOneTextFrame_AndRefusesWhatDoesNot', () => {
  assert.deepEqual(diagnosticsFrame('c-1', { gatheredAt: 'x' }), { type: 'diagnostics', commandId: 'c-1', report: { gatheredAt: 'x' } });
  assert.equal(diagnosticsFrame('c-1', { gatheredAt: 'x', facts: { big: 'x'.repeat(70_000) } }), null);
});
