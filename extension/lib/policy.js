// Applies the effective policy: the web filter (with its category lists), SafeSearch and YouTube
// rules, and reports what the extension cannot enforce as policyStatus failures.

import { compileFilter, parseFilterList } from './filter.js';
import { safetyRuleIdsToRemove, safetyRules } from './dnr.js';
import { load, save } from './store.js';
import { catalogLists, catalogPlan } from './apps.js';

const RESTRICTION_NAMES = ['appStore', 'bluetooth', 'camera', 'screenCapture', 'usbStorage'];

export class PolicyState {
  constructor() {
    this.version = 0;
    this.document = null;
    this.filter = null;
    this.lists = null;
  }

  async init() {
    const { policy, filterList } = await load(['policy', 'filterList']);
    this.lists = filterList ?? null;
    if (policy?.document) {
      this.version = policy.version;
      this.document = policy.document;
      this.compile();
    }
  }

  compile() {
    const categories = this.lists ? parseFilterList(this.lists.text).categories : new Map();
    this.filter = compileFilter(this.document?.webFilter ?? {}, categories);
  }

  get monitoring() {
    return this.document?.monitoring ?? {};
  }

  get device() {
    return this.document?.device ?? {};
  }

  /**
   * Applies a policy document. Returns the failures to report (empty when everything took effect).
   * @param {{ version: number, document: object }} frame
   * @param {{ serverUrl: string, deviceId: string, credential: string }} enrollment
   */
  async apply(frame, enrollment) {
    const failures = [];
    this.version = frame.version;
    this.document = frame.document ?? {};
    await save({ policy: { version: this.version, document: this.document } });

    const webFilter = this.document.webFilter ?? {};
    const wanted = [...new Set([...(webFilter.blockedCategories ?? []), ...(webFilter.allowedCategories ?? [])])].sort();
    const listVersion = this.document.filter?.listVersion ?? null;
    if (wanted.length > 0 && (this.lists?.listVersion !== listVersion || this.lists?.categories !== wanted.join(','))) {
      try {
        await this.download(wanted, listVersion, enrollment);
      } catch (error) {
        // Keep the previous lists: a half-known filter is better than none.
        failures.push(`filter.listVersion: the category lists could not be downloaded (${error.message})`);
      }
    }

    this.compile();

    try {
      const existing = await chrome.declarativeNetRequest.getDynamicRules();
      await chrome.declarativeNetRequest.updateDynamicRules({
        removeRuleIds: safetyRuleIdsToRemove(existing),
        addRules: safetyRules(webFilter),
      });
    } catch (error) {
      failures.push(`webFilter.safeSearch: the SafeSearch and YouTube rules could not be set (${error.message})`);
    }

    const restrictions = this.document.restrictions ?? {};
    for (const name of RESTRICTION_NAMES) {
      if (restrictions[name] === false) failures.push(`restrictions.${name}: not supported by the Chrome extension (set it in Google Admin)`);
    }

    failures.push(...(await this.applyCatalog()));
    return failures;
  }

  /**
   * The catalog's Chrome extensions: turns off the blocked and disabled ones, turns back on those it
   * turned off that no longer are, and reports required ones that are missing (Google Admin installs them).
   */
  async applyCatalog() {
    const lists = catalogLists(this.document?.catalog);
    const { catalogTurnedOff } = await load(['catalogTurnedOff']);
    const failures = [];
    let installed;
    try {
      installed = await chrome.management.getAll();
    } catch (error) {
      return lists.blocked.length + lists.disabled.length + lists.required.length > 0
        ? [`catalog: the installed extensions could not be read (${error.message})`]
        : [];
    }

    const plan = catalogPlan(lists, installed, catalogTurnedOff ?? [], chrome.runtime.id);
    const turnedOff = new Set((catalogTurnedOff ?? []).filter((id) => !plan.enable.includes(id)));
    for (const id of plan.disable) {
      try {
        await chrome.management.setEnabled(id, false);
        turnedOff.add(id);
      } catch (error) {
        failures.push(`catalog: extension ${id} could not be turned off (${error.message})`);
      }
    }

    for (const id of plan.enable) {
      try {
        await chrome.management.setEnabled(id, true);
      } catch (error) {
        failures.push(`catalog: extension ${id} could not be turned back on (${error.message})`);
      }
    }

    for (const id of plan.missing) {
      failures.push(`catalog: required extension ${id} is not installed (add it to ExtensionInstallForcelist in Google Admin)`);
    }

    await save({ catalogTurnedOff: [...turnedOff].sort() });
    return failures;
  }

  async download(categories, listVersion, enrollment) {
    const url = new URL('/agent/v1/filter-list', `${enrollment.serverUrl}/`);
    url.searchParams.set('categories', categories.join(','));
    const response = await fetch(url, { headers: { Authorization: `Device ${enrollment.deviceId}:${enrollment.credential}` } });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const text = await response.text();
    this.lists = { listVersion, categories: categories.join(','), text };
    await save({ filterList: this.lists });
  }
}
