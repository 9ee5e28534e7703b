// Typed text for safety monitoring. Loaded into pages only while the policy's safety.typedText is
// on (the service worker registers it with chrome.scripting.registerContentScripts and removes it
// when the setting goes off; a copy already running in an open page stops when `safetyTyping`
// in storage says so). It reads text inputs, textareas and contenteditable areas the rules in
// content/fields.js allow (never passwords, payment or hidden fields) and sends the sentence
// around what the student added when they pause for 2 s, press Enter or leave the field. At most
// 100 phrases and 20,000 characters per page. The service worker checks the policy again.
(() => {
  if (globalThis.homeroomTyping || !globalThis.homeroomFields) return;
  globalThis.homeroomTyping = true;
  const { reportable, changedPhrase } = globalThis.homeroomFields;
  const PAUSE_MS = 2000;
  const MAX_PHRASES = 100;
  const MAX_CHARACTERS = 20_000;
  // Longer fields (a whole document) are read only this far around the end.
  const MAX_READ = 100_000;

  let enabled = true;
  let phrases = 0;
  let characters = 0;
  const baselines = new WeakMap();
  const timers = new WeakMap();

  /** The field an event came from: an input, a textarea, or the root of a contenteditable area. */
  function fieldOf(event) {
    let target = event.composedPath?.()[0] ?? event.target;
    if (!(target instanceof Element)) target = target?.parentElement ?? null;
    if (!target) return null;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return target;
    if (!target.isContentEditable) return null;
    let root = target;
    while (root.parentElement?.isContentEditable) root = root.parentElement;
    return root;
  }

  function describe(element) {
    const style = getComputedStyle(element);
    const hidden = element.hidden || element.getClientRects().length === 0 || style.visibility === 'hidden' || style.display === 'none';
    const labels = [element.getAttribute('name'), element.id, element.getAttribute('aria-label'), element.getAttribute('placeholder'), element.getAttribute('autocomplete')];
    for (const label of element.labels ?? []) labels.push(label.textContent);
    if (element instanceof HTMLInputElement) {
      return { kind: 'input', type: element.type, autocomplete: element.autocomplete, labels, hidden, readOnly: element.readOnly, disabled: element.disabled };
    }
    if (element instanceof HTMLTextAreaElement) {
      return { kind: 'textarea', autocomplete: element.autocomplete, labels, hidden, readOnly: element.readOnly, disabled: element.disabled };
    }
    return { kind: 'editable', autocomplete: element.getAttribute('autocomplete') ?? '', labels, hidden };
  }

  function textOf(element) {
    const text = element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement ? element.value : element.innerText;
    return typeof text === 'string' && text.length > MAX_READ ? text.slice(-MAX_READ) : text ?? '';
  }

  function readable(element) {
    return enabled && element && reportable(describe(element));
  }

  // The text before the student's change, so what was already there is never sent.
  function remember(element) {
    if (!baselines.has(element)) baselines.set(element, textOf(element));
  }

  function flush(element) {
    clearTimeout(timers.get(element));
    timers.delete(element);
    if (!readable(element) || phrases >= MAX_PHRASES || characters >= MAX_CHARACTERS) return;
    const text = textOf(element);
    const phrase = changedPhrase(baselines.get(element) ?? '', text);
    baselines.set(element, text);
    if (!phrase) return;
    phrases += 1;
    characters += phrase.length;
    try {
      chrome.runtime.sendMessage({ type: 'homeroom.typed', text: phrase }).catch(() => {});
    } catch {
      // The extension was reloaded or removed: this copy is an orphan.
      stop();
    }
  }

  function onFocus(event) {
    const element = fieldOf(event);
    if (readable(element)) remember(element);
  }

  function onBeforeInput(event) {
    const element = fieldOf(event);
    if (readable(element)) remember(element);
  }

  function onInput(event) {
    const element = fieldOf(event);
    if (!readable(element)) return;
    remember(element);
    clearTimeout(timers.get(element));
    timers.set(element, setTimeout(() => flush(element), PAUSE_MS));
  }

  // Before the page's own handler (capture phase): a chat box empties itself on Enter.
  function onKeyDown(event) {
    if (event.key !== 'Enter' || event.isComposing) return;
    const element = fieldOf(event);
    if (element && baselines.has(element)) flush(element);
  }

  function onBlur(event) {
    const element = fieldOf(event);
    if (element && baselines.has(element)) flush(element);
  }

  const listeners = [['focusin', onFocus], ['beforeinput', onBeforeInput], ['input', onInput], ['keydown', onKeyDown], ['focusout', onBlur]];
  for (const [name, handler] of listeners) window.addEventListener(name, handler, true);

  function stop() {
    enabled = false;
    for (const [name, handler] of listeners) window.removeEventListener(name, handler, true);
  }

  chrome.storage.local.get('safetyTyping').then(({ safetyTyping }) => {
    if (safetyTyping?.enabled === false) stop();
  }).catch(() => {});
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes.safetyTyping && changes.safetyTyping.newValue?.enabled !== true) stop();
  });
})();
