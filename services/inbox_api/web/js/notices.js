// Meta's notices for every agent of the tenant (GET /account/notices: restrictions, a disabled
// account, number quality, limits, alerts) as a banner at the top of the inbox; the "Opted out
// of marketing" badge of a conversation; Meta's details on a template of the templates page.
import { api } from './api.js';
import { fill, h, icon } from './dom.js';
import { fullTime } from './format.js';

const REFRESH_MS = 60_000;
const LEVEL_ICON = { critical: 'ban', warning: 'alert', info: 'question' };
const SOURCES = {
  keyword: 'They sent a stop keyword',
  meta_preference: 'They stopped marketing messages in WhatsApp',
  meta_131050: 'WhatsApp reported they stopped marketing messages',
};

let timer = 0;

function notice(item) {
  return h('div', { class: `notice notice-${item.level}`, 'data-testid': 'account-notice', dataset: { level: item.level, code: item.code } },
    icon(LEVEL_ICON[item.level] || 'alert'),
    h('p', { class: 'notice-text' },
      h('strong', {}, `${item.title}. `), item.text));
}

export function renderNotices(items) {
  const el = document.getElementById('account-notices');
  if (!el) return;
  fill(el, ...items.map(notice));
  el.hidden = items.length === 0;
}

async function refresh() {
  try {
    renderNotices((await api.accountNotices()).items || []);
  } catch (err) {
    if (err.status === 401) stopNotices();
    // Otherwise keep what is shown; the next refresh tries again.
  }
}

export function startNotices() {
  stopNotices();
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

export function stopNotices() {
  clearInterval(timer);
  timer = 0;
}

// The conversation's customer opted out of marketing: marketing templates are refused for them.
export function optOutBadge(conversation) {
  const opt = conversation && conversation.marketing_opt_out;
  if (!opt) return null;
  const why = SOURCES[opt.source] || 'They opted out';
  const when = opt.at ? ` on ${fullTime(opt.at)}` : '';
  return h('span', { class: 'tag tag-opted-out', 'data-testid': 'opted-out-badge', title: `${why}${when}: marketing templates are not sent to them.` },
    icon('ban'), 'Opted out of marketing');
}

// Meta's words on a template's current status (rejection details, pause or disable notes), and
// a note when its content has not been synced (it is not offered for sending until it is).
export function templateDetails(t) {
  const d = t.status_details;
  const lines = [];
  if (d && d.recommendation) lines.push(h('span', {}, h('strong', {}, 'Meta recommends: '), d.recommendation));
  if (d && (d.title || d.description)) lines.push(h('span', {}, d.title ? h('strong', {}, `${d.title.replace(/_/g, ' ').toLowerCase()}: `) : null, d.description || ''));
  if (d && d.disable_date) lines.push(h('span', {}, `To be disabled on ${d.disable_date}.`));
  if (t.synced === false) lines.push(h('span', {}, 'Its content is not synced yet, so it is not offered for sending: use "Sync from WhatsApp".'));
  if (!lines.length) return null;
  return h('p', { class: 'row-reason tone-muted tpl-details', 'data-testid': 'template-details' }, icon('alert'),
    h('span', { class: 'tpl-details-lines' }, lines));
}
