// The action popup: "I need help" with an optional note and, only when ticked, a picture of the
// current tab. The service worker captures, queues and sends it (background.js, lib/help.js).
const form = document.getElementById('help-form');
const note = document.getElementById('note');
const count = document.getElementById('count');
const screenshot = document.getElementById('screenshot');
const send = document.getElementById('send');
const result = document.getElementById('result');
const list = document.getElementById('requests');

note.addEventListener('input', () => { count.textContent = String(note.value.length); });

function render(requests) {
  list.replaceChildren(...(requests ?? []).map((r) => {
    const item = document.createElement('li');
    item.dataset.status = r.status ?? 'pending';
    item.textContent = `${new Date(r.createdAt).toLocaleTimeString()}: ${r.text}${r.note ? ` (“${r.note}”)` : ''}`;
    return item;
  }));
}

async function refresh() {
  const answer = await chrome.runtime.sendMessage({ type: 'homeroom.help.list' });
  render(answer?.requests);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  send.disabled = true;
  result.textContent = 'Sending…';
  try {
    const answer = await chrome.runtime.sendMessage({ type: 'homeroom.help', note: note.value, screenshot: screenshot.checked });
    result.textContent = answer?.text ?? 'Could not send.';
    if (answer?.ok) {
      note.value = '';
      count.textContent = '0';
      screenshot.checked = false;
    }
    render(answer?.requests);
  } finally {
    send.disabled = false;
  }
});

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && 'help' in changes) refresh();
});

refresh();
