// The remote support window: the student's consent prompt, then the notice naming the technician with a button
// that ends the session. The service worker opens it and closes it when the session ends; closing it while asked
// declines.
const params = new URLSearchParams(location.search);
const sessionId = params.get('session');
const technician = params.get('technician') ?? 'IT support';
const asking = params.get('ask') === '1';
const text = document.getElementById('text');

function show(state) {
  document.getElementById('asking').hidden = state !== 'asking';
  document.getElementById('watching').hidden = state !== 'watching';
  text.textContent = state === 'asking'
    ? `${technician} from IT support asks to see your screen. Nothing is shown unless you allow it.`
    : state === 'watching' ? `${technician} from IT support is viewing your screen. You can end this at any time.`
      : 'The session has ended.';
}

function answer(accepted) {
  chrome.runtime.sendMessage({ type: 'homeroom.remote.answer', sessionId, accepted });
  show(accepted ? 'watching' : 'ended');
  if (!accepted) window.close();
}

document.getElementById('allow').addEventListener('click', () => answer(true));
document.getElementById('decline').addEventListener('click', () => answer(false));
document.getElementById('end').addEventListener('click', async () => {
  await chrome.runtime.sendMessage({ type: 'homeroom.remote.end', sessionId });
  show('ended');
  window.close();
});
show(asking ? 'asking' : 'watching');
