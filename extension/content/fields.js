// Rules of the typing script (content/typing.js), without the DOM so node tests can run them: which
// fields may be read at all, and which phrase of a field's text is new since it was last sent.
// Loaded before typing.js in the same isolated world (a registered content script cannot be a
// module); the page itself never sees it.
(() => {
  const MIN_LETTERS = 3;
  const MAX_TEXT = 2000;
  // Only free-text inputs: email, tel, number, url, date, password and hidden are never read.
  const TEXT_INPUT_TYPES = new Set(['', 'text', 'search']);
  const SECRET_AUTOCOMPLETE = new Set(['current-password', 'new-password', 'one-time-code', 'transaction-amount', 'transaction-currency']);
  // Names, ids, labels and placeholders of payment and secret fields (over-broad on purpose:
  // "discard" or "scorecard" lose their typing signal rather than a card number ever being read).
  const SECRET_NAME = /card|\bcc.?(?:num|exp|csc|name)|cvv|cvc|\bcsc\b|iban|account.?(?:num|no\b|number|#)|acct|routing|sort.?code|security.?code|expir|exp.?(?:date|month|year)|mm.?yy|passw|passcode|pwd|\bpin\b|\botp\b|one.?time.?(?:code|pass)|\bssn\b|social.?security|tax.?id/i;

  // billing_cc_number, ccNumber, cc-num → "billing cc number", "cc Number", "cc num" (so \b works).
  const words = (label) => label.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_\-.[\]:]+/g, ' ');

  /**
   * Whether a field may be read.
   * @param {{ kind: 'input' | 'textarea' | 'editable', type?: string, autocomplete?: string, labels?: string[],
   *   hidden?: boolean, readOnly?: boolean, disabled?: boolean }} field
   */
  function reportable(field) {
    if (!field || field.hidden || field.readOnly || field.disabled) return false;
    if (field.kind === 'input' && !TEXT_INPUT_TYPES.has(String(field.type ?? '').toLowerCase())) return false;
    if (field.kind !== 'input' && field.kind !== 'textarea' && field.kind !== 'editable') return false;
    const tokens = String(field.autocomplete ?? '').toLowerCase().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.some((t) => t.startsWith('cc-') || SECRET_AUTOCOMPLETE.has(t))) return false;
    return !(field.labels ?? []).some((label) => typeof label === 'string' && SECRET_NAME.test(words(label)));
  }

  /**
   * The phrase to send when a field's text went from `before` to `after`: the sentence (or
   * sentences) around what was added or changed, at most 2,000 characters ending where the change
   * ends. '' when nothing was added (only deleted, or unchanged) or the phrase is trivially short
   * (fewer than three letters).
   */
  function changedPhrase(before, after) {
    const old = typeof before === 'string' ? before : '';
    const now = typeof after === 'string' ? after : '';
    if (old === now) return '';
    let prefix = 0;
    while (prefix < old.length && prefix < now.length && old[prefix] === now[prefix]) prefix++;
    let suffix = 0;
    while (suffix < old.length - prefix && suffix < now.length - prefix && old[old.length - 1 - suffix] === now[now.length - 1 - suffix]) suffix++;
    const changeEnd = now.length - suffix;
    if (changeEnd <= prefix) return '';

    let start = prefix;
    while (start > 0 && !/[.!?\n]/.test(now[start - 1])) start--;
    let end = changeEnd;
    while (end < now.length && !/[.!?\n]/.test(now[end - 1] ?? '')) end++;
    const phrase = now.slice(Math.max(start, end - MAX_TEXT), end).replace(/\s+/g, ' ').trim();
    const letters = phrase.match(/\p{L}/gu)?.length ?? 0;
    return letters >= MIN_LETTERS ? phrase : '';
  }

  globalThis.homeroomFields = Object.freeze({ reportable, changedPhrase, MIN_LETTERS });
})();
