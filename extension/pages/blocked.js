// The block page: says which page was stopped, why, and by which rule.
const params = new URLSearchParams(location.search);
const reason = params.get('reason') ?? '';
const detail = params.get('detail') ?? '';
const host = params.get('host');

const explanations = {
  BlockedCategory: () => `It is in the blocked category "${detail.replace(/^category:/, '')}".`,
  BlockedSite: () => `It matches the blocked site "${detail.replace(/^rule:/, '')}".`,
  NotAllowed: () => 'Only approved sites may be opened on this device, and this is not one of them.',
  Focus: () => `Focus mode is on: your teacher allowed only ${params.get('sites')?.split(' ').join(', ') || 'a few sites'}.`,
  InvalidUrl: () => 'The address could not be read.',
};

document.getElementById('url').textContent = params.get('url') ?? '';
document.getElementById('why').textContent = (explanations[reason] ?? (() => 'It is blocked by your school.'))();
document.getElementById('rule').textContent = `Rule: ${detail}${host ? ` (matched ${host})` : ''}`;
document.getElementById('back').addEventListener('click', () => (history.length > 2 ? history.go(-2) : window.close()));
