import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockedDetail, compileFilter, decide, parseFilterList, parseFocusSites, Reason } from '../lib/filter.js';

const LIST = `# homeroom filter list 3f1c9a0d
# games
poki.com
coolmathgames.com
example.org/games
# education
coolmathgames.com
khanacademy.org
# social_networks
facebook.com
`;

function filterOf(webFilter) {
  return compileFilter(webFilter, parseFilterList(LIST).categories);
}

test('parseFilterList_ReadsVersionAndCategories', () => {
  const parsed = parseFilterList(LIST);
  assert.equal(parsed.version, '3f1c9a0d');
  assert.deepEqual([...parsed.categories.keys()], ['games', 'education', 'social_networks']);
  assert.deepEqual(parsed.categories.get('games'), ['poki.com', 'coolmathgames.com', 'example.org/games']);
});

test('decide_BlockedCategory_BlocksSubdomainsAndNamesTheCategory', () => {
  const d = decide(filterOf({ blockedCategories: ['games'] }), 'https://www.Poki.com/en/g/1');
  assert.equal(d.blocked, true);
  assert.equal(d.reason, Reason.BlockedCategory);
  assert.equal(blockedDetail(d), 'category:games');
});

test('decide_AllowedCategory_BeatsBlockedCategoryOnTheSameHost', () => {
  const d = decide(filterOf({ blockedCategories: ['games'], allowedCategories: ['education'] }), 'https://coolmathgames.com/');
  assert.deepEqual([d.blocked, d.reason], [false, Reason.AllowedCategory]);
});

test('decide_CategoryPathEntry_BlocksOnlyUnderThePath', () => {
  const filter = filterOf({ blockedCategories: ['games'] });
  assert.equal(decide(filter, 'http://example.org/Games/tetris').blocked, true);
  assert.equal(decide(filter, 'http://example.org/news').blocked, false);
});

test('decide_AllowedSite_BeatsBlockedSiteAndCategory', () => {
  const filter = filterOf({ blockedCategories: ['social_networks'], blockedSites: ['facebook.com'], allowedSites: ['*.edu.facebook.com'] });
  const d = decide(filter, 'https://edu.facebook.com/class');
  assert.deepEqual([d.blocked, d.reason, d.rule], [false, Reason.AllowedSite, '*.edu.facebook.com']);
  const blocked = decide(filter, 'https://www.facebook.com/');
  assert.deepEqual([blocked.blocked, blockedDetail(blocked)], [true, 'rule:facebook.com']);
});

test('decide_MostSpecificSitePathWins', () => {
  const filter = filterOf({ blockedSites: ['video.example.org/shorts'], allowedSites: ['video.example.org/shorts/science'] });
  assert.equal(decide(filter, 'https://video.example.org/shorts/cats').blocked, true);
  assert.equal(decide(filter, 'https://video.example.org/shorts/science/1').blocked, false);
  assert.equal(decide(filter, 'https://video.example.org/watch').blocked, false);
});

test('decide_AllowOnly_BlocksEverythingNotAllowed', () => {
  const filter = filterOf({ allowOnly: true, allowedSites: ['classroom.google.com'], allowedCategories: ['education'] });
  assert.equal(decide(filter, 'https://classroom.google.com/c/1').blocked, false);
  assert.equal(decide(filter, 'https://www.khanacademy.org/').blocked, false);
  const d = decide(filter, 'https://news.example.com/');
  assert.deepEqual([d.blocked, blockedDetail(d)], [true, 'rule:NotAllowed']);
});

test('decide_UnknownCategory_MatchesNothing', () => {
  assert.equal(decide(filterOf({ blockedCategories: ['gambling'] }), 'https://poki.com/').blocked, false);
});

test('decide_IpAddressRule_MatchesOnlyTheWholeAddress', () => {
  const filter = filterOf({ blockedSites: ['10.0.0.1'] });
  assert.equal(decide(filter, 'http://10.0.0.1:8080/').blocked, true);
  assert.equal(decide(filter, 'http://110.0.0.1/').blocked, false);
});

test('decide_FocusMode_AllowsOnlyListedSitesAndPolicyStillBlocks', () => {
  const filter = filterOf({ blockedSites: ['docs.example.com/forbidden'] });
  const focus = { sites: parseFocusSites('https://docs.example.com/ khanacademy.org,wiki.example.net/Physics') };
  assert.equal(decide(filter, 'https://docs.example.com/d/1', focus).blocked, false);
  assert.equal(decide(filter, 'https://www.khanacademy.org/', focus).blocked, false);
  assert.equal(decide(filter, 'https://wiki.example.net/physics/atoms', focus).blocked, false);
  assert.equal(decide(filter, 'https://wiki.example.net/history', focus).reason, Reason.Focus);
  assert.equal(decide(filter, 'https://poki.com/', focus).reason, Reason.Focus);
  assert.equal(decide(filter, 'https://docs.example.com/forbidden', focus).reason, Reason.BlockedSite);
});

test('parseFocusSites_NormalisesAndDeduplicates', () => {
  assert.deepEqual(parseFocusSites(' HTTPS://Docs.Example.com/  docs.example.com\nkhanacademy.org/ '), ['docs.example.com', 'khanacademy.org']);
});

test('decide_NoPolicy_AllowsAndMalformedUrlBlocks', () => {
  assert.equal(decide(null, 'https://anything.example/').blocked, false);
  assert.equal(decide(filterOf({}), 'http://exa mple.com/').reason, Reason.InvalidUrl);
});

test('decide_PathEntryInBlockedCategory_DoesNotHideTheHostsAllowedCategory', () => {
  const categories = parseFilterList('# education\nschool.test\n# games\nschool.test/arcade\n').categories;
  const d = decide(compileFilter({ blockedCategories: ['games'], allowedCategories: ['education'] }, categories), 'https://www.school.test/arcade/pacman');
  assert.deepEqual([d.blocked, d.reason, d.category, d.matchedHost], [false, Reason.AllowedCategory, 'education', 'school.test']);
});

test('decide_NestedPathEntries_EveryCategoryListingTheUrlCounts', () => {
  const categories = parseFilterList('# education\nvideo.test/Learn\n# games\nvideo.test/learn/play\n').categories;
  const allow = decide(compileFilter({ blockedCategories: ['games'], allowedCategories: ['education'] }, categories), 'video.test/learn/play/1');
  assert.equal(allow.reason, Reason.AllowedCategory);
  const blockBoth = compileFilter({ blockedCategories: ['education', 'games'] }, categories);
  assert.equal(decide(blockBoth, 'video.test/learn/play/1').category, 'education');
  assert.equal(decide(blockBoth, 'video.test/play').blocked, false);
});

test('decide_HostInSeveralCategories_IsBlockedOnlyByThoseAndNamesThePolicysFirst', () => {
  const categories = parseFilterList('# liste_blanche\nuniv.test\n# liste_bu\nuniv.test\n# manga\nmanga.test\n').categories;
  assert.equal(decide(compileFilter({ blockedCategories: ['manga'] }, categories), 'https://univ.test/').blocked, false);
  assert.equal(decide(compileFilter({ blockedCategories: ['liste_bu', 'liste_blanche'] }, categories), 'https://univ.test/').category, 'liste_bu');
});
