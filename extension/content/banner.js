// While a teacher views this screen, a banner at the top of every page names the viewer. The
// agent keeps `viewing` in extension storage; this script follows it.
(() => {
  const ID = 'homeroom-viewing-banner';

  function render(viewing) {
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

  chrome.storage.local.get('viewing').then(({ viewing }) => {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => render(viewing), { once: true });
    else render(viewing);
  });
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes.viewing) render(changes.viewing.newValue);
  });
})();
