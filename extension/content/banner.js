// While a teacher views this screen, or an IT technician watches it in a remote session, a banner at the top of
// every page names the viewer. The agent keeps `viewing` and `remoteViewing` in extension storage; this script
// follows them (a remote session's banner wins when both are on).
(() => {
  const ID = 'homeroom-viewing-banner';
  const state = { viewing: null, remoteViewing: null };

  function render() {
    const viewing = state.remoteViewing?.active ? state.remoteViewing : state.viewing;
    const existing = document.getElementById(ID);
    if (!viewing?.active) {
      existing?.remove();
      return;
    }

    const banner = existing ?? document.createElement('div');
    banner.id = ID;
    banner.setAttribute('role', 'status');
    banner.style.cssText = 'all:initial;position:fixed;top:0;left:0;right:0;z-index:2147483646;padding:6px 12px;'
      + 'font:600 14px/1.4 system-ui,sans-serif;color:#fff;background:#dc2626;text-align:center;pointer-events:none';
    banner.textContent = `\u{1F441} ${viewing.viewerName ?? 'Your teacher'} is viewing your screen`;
    if (!existing) (document.body ?? document.documentElement).append(banner);
  }

  chrome.storage.local.get(['viewing', 'remoteViewing']).then((stored) => {
    Object.assign(state, stored);
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', render, { once: true });
    else render();
  });
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local' || !(changes.viewing || changes.remoteViewing)) return;
    if (changes.viewing) state.viewing = changes.viewing.newValue;
    if (changes.remoteViewing) state.remoteViewing = changes.remoteViewing.newValue;
    render();
  });
})();
