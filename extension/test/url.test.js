import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, hostSuffixes, pathStartsWith } from '../lib/url.js';

test('canonicalize_UrlWithCasePortUserAndFragment_GivesCanonicalHostAndPath', () => {
  assert.deepEqual(canonicalize('https://user:pw@WWW.Example.COM.:8443/A/b?q=1#top'), { host: 'www.example.com', path: '/A/b?q=1', isIp: false });
});

test('canonicalize_BareHostWithPath_IsAccepted', () => {
  assert.deepEqual(canonicalize('video.example.org/shorts'), { host: 'video.example.org', path: '/shorts', isIp: false });
});

test('canonicalize_InternationalName_BecomesPunycode', () => {
  assert.equal(canonicalize('http://Bücher.de/')?.host, 'xn--bcher-kva.de');
});

test('canonicalize_Ipv4AndIpv6_AreMarkedAsAddresses', () => {
  assert.equal(canonicalize('http://10.0.0.1:8080/x').isIp, true);
  assert.deepEqual(canonicalize('http://[2001:DB8::1]:80/'), { host: '[2001:db8::1]', path: '/', isIp: true });
});

test('canonicalize_Malformed_IsNull', () => {
  for (const bad of ['', '   ', '://x', 'http://a..b/', 'http://.a/', 'http://exa mple.com/', 'http://host:99999/', 'http:///path']) {
    assert.equal(canonicalize(bad), null, bad);
  }
});

test('hostSuffixes_Host_ListsLabelBoundariesLongestFirst', () => {
  assert.deepEqual(hostSuffixes('a.b.example.com', false), ['a.b.example.com', 'b.example.com', 'example.com', 'com']);
  assert.deepEqual(hostSuffixes('10.0.0.1', true), ['10.0.0.1']);
});

test('pathStartsWith_IgnoresCase_AndTreatsEmptyPathAsRoot', () => {
  assert.equal(pathStartsWith('/Shorts/abc', '/shorts'), true);
  assert.equal(pathStartsWith('', '/shorts'), false);
  assert.equal(pathStartsWith('?q=1', '/?q'), true);
  assert.equal(pathStartsWith('/short', '/shorts'), false);
});
