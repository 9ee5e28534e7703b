// declarativeNetRequest rules for the policy's SafeSearch and YouTube Restricted Mode settings.
// They live in their own id range so updating them never touches other dynamic rules.

export const SAFETY_RULE_IDS = Object.freeze({ first: 1000, last: 1099 });

const ALL_REQUESTS = ['main_frame', 'sub_frame', 'xmlhttprequest'];

// Search engines and the query parameter that forces their strictest SafeSearch.
const SEARCH_ENGINES = [
  { pattern: '^https?://(www\\.)?google\\.[a-z.]{2,6}/(search|webhp|images)', key: 'safe', value: 'active' },
  { pattern: '^https?://(www\\.)?bing\\.com/(search|images/search|videos/search)', key: 'adlt', value: 'strict' },
  { pattern: '^https?://(www\\.)?duckduckgo\\.com/', key: 'kp', value: '1' },
];

const YOUTUBE_DOMAINS = ['youtube.com', 'm.youtube.com', 'www.youtube.com', 'youtubei.googleapis.com', 'youtube.googleapis.com', 'www.youtube-nocookie.com'];

/**
 * The rules a policy's `webFilter` group asks for.
 * @param {{ safeSearch?: boolean, youTube?: string }} webFilter
 */
export function safetyRules(webFilter) {
  const rules = [];
  let id = SAFETY_RULE_IDS.first;
  if (webFilter?.safeSearch) {
    for (const engine of SEARCH_ENGINES) {
      // A request that already carries the setting passes untouched, so the redirect cannot loop.
      const escapedValue = engine.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      rules.push({
        id: id++,
        priority: 2,
        action: { type: 'allow' },
        condition: { regexFilter: `${engine.pattern}.*[?&]${engine.key}=${escapedValue}(&|$)`, resourceTypes: ['main_frame', 'sub_frame'] },
      });
      rules.push({
        id: id++,
        priority: 1,
        action: { type: 'redirect', redirect: { transform: { queryTransform: { addOrReplaceParams: [{ key: engine.key, value: engine.value }] } } } },
        condition: { regexFilter: engine.pattern, resourceTypes: ['main_frame', 'sub_frame'] },
      });
    }
  }

  const mode = String(webFilter?.youTube ?? 'off').toLowerCase();
  if (mode === 'moderate' || mode === 'strict') {
    rules.push({
      id: id++,
      priority: 1,
      action: {
        type: 'modifyHeaders',
        requestHeaders: [{ header: 'YouTube-Restrict', operation: 'set', value: mode === 'strict' ? 'Strict' : 'Moderate' }],
      },
      condition: { requestDomains: YOUTUBE_DOMAINS, resourceTypes: ALL_REQUESTS },
    });
  }

  return rules;
}

/** The ids to remove before adding `rules`: every id in the safety range. */
export function safetyRuleIdsToRemove(existingRules) {
  return (existingRules ?? []).map((r) => r.id).filter((id) => id >= SAFETY_RULE_IDS.first && id <= SAFETY_RULE_IDS.last);
}
