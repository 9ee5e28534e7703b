// The lock page shows the lock's message and follows changes to it.
function show(lock) {
  const message = (lock?.command ? lock.commandMessage : null) ?? lock?.policyMessage ?? 'This device is locked.';
  document.getElementById('message').textContent = message;
}

chrome.storage.local.get('lock').then(({ lock }) => show(lock));
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes.lock) show(changes.lock.newValue);
});
// Leaving is not offered: while locked the agent puts this page back over any tab that navigates
// away or opens, and the agent (not this page) restores the tabs on unlock.
