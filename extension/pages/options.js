// Manual setup for browsers Google Admin does not manage: stores into chrome.storage.local, which
// the agent reads under any managed values.
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
    input.value = config?.[key] ?? '';
    if (managed[key]) {
      input.value = key === 'enrollmentToken' ? '(set by your organisation)' : managed[key];
      input.disabled = true;
    }
  }
  document.getElementById('managed').hidden = Object.keys(managed).length === 0;
}

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

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes.status) showStatus();
});

fill();
showStatus();
