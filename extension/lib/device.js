// The device's facts for enrollment and inventory. On a managed Chromebook the force-installed
// extension may read the serial number, asset id and directory device id; elsewhere a generated
// id kept in local storage stands in for the serial.

import { load, save } from './store.js';

async function call(fn) {
  try {
    return await new Promise((resolve) => fn((value) => resolve(chrome.runtime.lastError ? undefined : value)));
  } catch {
    return undefined;
  }
}

async function generatedId() {
  const { deviceKey } = await load('deviceKey');
  if (deviceKey) return deviceKey;
  const key = `ext-${crypto.randomUUID()}`;
  await save({ deviceKey: key });
  return key;
}

function chromeVersion() {
  const match = /Chrome\/([0-9.]+)/.exec(navigator.userAgent);
  return match ? match[1] : undefined;
}

export async function deviceFacts() {
  const attributes = chrome.enterprise?.deviceAttributes;
  const platform = chrome.enterprise?.hardwarePlatform;
  const serial = attributes ? await call((cb) => attributes.getDeviceSerialNumber(cb)) : undefined;
  const assetId = attributes ? await call((cb) => attributes.getDeviceAssetId(cb)) : undefined;
  const directoryId = attributes ? await call((cb) => attributes.getDirectoryDeviceId(cb)) : undefined;
  const hostname = attributes?.getDeviceHostname ? await call((cb) => attributes.getDeviceHostname(cb)) : undefined;
  const hardware = platform ? await call((cb) => platform.getHardwarePlatformInfo(cb)) : undefined;
  const os = (await chrome.runtime.getPlatformInfo()).os;
  return {
    serial: serial || (await generatedId()),
    assetId: assetId || undefined,
    directoryDeviceId: directoryId || undefined,
    name: assetId || hostname || undefined,
    model: hardware?.model || undefined,
    manufacturer: hardware?.manufacturer || undefined,
    osName: os === 'cros' ? 'ChromeOS' : `Chrome on ${os}`,
    osVersion: chromeVersion(),
  };
}

/** The signed-in Google account, where the browser lets the extension see it. */
export async function signedInUser() {
  try {
    const info = await chrome.identity.getProfileUserInfo({ accountStatus: 'ANY' });
    return info?.email ? { email: info.email, id: info.id || undefined } : undefined;
  } catch {
    return undefined;
  }
}
