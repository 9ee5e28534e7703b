// Manual setup for browsers Google Admin does not manage: stores into chrome.storage.local, which
// the agent reads under any managed values. Also the page a student can open to see whether this
// device reports its location now, how often, and when it last sent one, and what safety
// monitoring collects.
import { describeLocation } from '../lib/location.js';
import { describeSafety } from '../lib/signals.js';
const form = document.getElementById('form');

async function fill() {
  const { config } = await chrome.storage.local.get('config');
  let managed = {};
  try {
    managed = await chrome.storage.managed.get(null);
  } catch {
    managed = {};
  }

  for (const key of ['serverUrl', 'enrollmentToken']) {
    const input = form.elements[key];
    // Storage answers after the page is shown: what someone typed meanwhile is kept, not overwritten.
    if (!edited.has(key)) input.value = config?.[key] ?? '';
    if (managed[key]) {
      input.value = key === 'enrollmentToken' ? '(set by your organisation)' : managed[key];
      input.disabled = true;
    }
  }
  document.getElementById('managed').hidden = Object.keys(managed).length === 0;
  form.dataset.ready = 'true';
}

const edited = new Set();
form.addEventListener('input', (event) => edited.add(event.target.name));

async function showStatus() {
  const status = await chrome.runtime.sendMessage({ type: 'homeroom.status' }).catch(() => null);
  document.getElementById('status').textContent = status?.state ? `${status.state}${status.detail ? ` — ${status.detail}` : ''}` : 'starting';
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const config = {
    serverUrl: form.elements.serverUrl.value.trim(),
    enrollmentToken: form.elements.enrollmentToken.value.trim(),
  };
  await chrome.storage.local.set({ config });
  await showStatus();
});

async function showLocation() {
  const { location, locationQueue, policy } = await chrome.storage.local.get(['location', 'locationQueue', 'policy']);
  const text = describeLocation(policy?.document ?? null, location ?? {}, locationQueue?.fixes?.length ?? 0, new Date());
  document.getElementById('location-now').textContent = text.now;
  document.getElementById('location-last').textContent = text.last;
}

async function showSafety() {
  const { policy, signalQueue } = await chrome.storage.local.get(['policy', 'signalQueue']);
  const queued = (signalQueue?.batches ?? []).reduce((sum, b) => sum + (b.signals?.length ?? 0), 0);
  const text = describeSafety(policy?.document ?? null, queued);
  document.getElementById('safety-now').textContent = text.now;
  const list = document.getElementById('safety-items');
  list.replaceChildren(...text.items.map((item) => {
    const li = document.createElement('li');
    li.textContent = item;
    return li;
  }));
}

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes.status) showStatus();
  if (area === 'local' && (changes.location || changes.locationQueue || changes.policy)) showLocation();
  if (area === 'local' && (changes.policy || changes.signalQueue)) showSafety();
});

fill();
showStatus();
showLocation();
showSafety();
// The reporting hours begin and end by the clock, not by a change in storage.
setInterval(showLocation, 30_000);
