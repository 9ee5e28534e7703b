// Thin promise wrappers over chrome.storage. `local` keeps agent state across browser restarts;
// `session` keeps per-session state (the current visit) across service-worker restarts.

export async function load(keys) {
  return chrome.storage.local.get(keys);
}

export async function save(values) {
  await chrome.storage.local.set(values);
}

export async function loadSession(key) {
  return (await chrome.storage.session.get(key))[key];
}

export async function saveSession(key, value) {
  await chrome.storage.session.set({ [key]: value });
}

/**
 * The effective configuration: Google Admin's managed policy wins over what the options page
 * stored locally, value by value.
 */
export async function readConfig() {
  let managed = {};
  try {
    managed = (await chrome.storage.managed.get(null)) ?? {};
  } catch {
    // Not managed (or managed storage unavailable): the options page's values apply.
  }

  const local = (await chrome.storage.local.get('config')).config ?? {};
  const pick = (key) => (managed[key] !== undefined && managed[key] !== '' ? managed[key] : local[key]);
  return {
    serverUrl: normaliseServerUrl(pick('serverUrl')),
    enrollmentToken: typeof pick('enrollmentToken') === 'string' ? pick('enrollmentToken').trim() : '',
    // Only from managed policy: the desktop agent writes it there (docs/desktop-agent.md, Browser policy).
    companionCredential: typeof managed.companionCredential === 'string' ? managed.companionCredential.trim() : '',
    reportSignedInUser: pick('reportSignedInUser') !== false,
    managed: Object.keys(managed).length > 0,
  };
}

/** `https://host/path/` → `https://host/path`; anything that is not http(s) → ''. */
export function normaliseServerUrl(value) {
  if (typeof value !== 'string' || value.trim() === '') return '';
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return '';
  }
}
