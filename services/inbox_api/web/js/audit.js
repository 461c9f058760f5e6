// The Audit page (#/audit, admins; docs/inbox-api.md, "Audit log"): who did what and when,
// filtered by agent, action and time, newest first with "Load more" (keyset), and the same
// filters as a CSV download.
import { api } from './api.js';
import { fill, h, icon } from './dom.js';
import { agentName } from './state.js';

const ACTIONS = ['conversation.reply', 'conversation.send_attachment', 'conversation.note', 'conversation.assign',
  'conversation.resolve', 'conversation.reopen', 'conversation.label', 'conversation.unlabel', 'conversation.start',
  'template.create', 'template.update', 'template.delete', 'campaign.create', 'campaign.schedule',
  'label.create', 'label.delete', 'canned_reply.create', 'canned_reply.update', 'canned_reply.delete',
  'agent.invite', 'agent.deactivate', 'session.sign_in', 'session.sign_in_failed', 'session.sign_out'];
const page = { el: null, ui: null, items: [], cursor: null, active: false, request: 0 };

export function showAudit(el) {
  page.el = el;
  page.active = true;
  renderShell();
  load();
}

export function leaveAudit() {
  page.active = false;
}

function filters() {
  const { agent, action, since, until } = page.ui;
  // Dates are the admin's local days: since the start of one, until the end of the other.
  const day = (value, end) => (value ? new Date(`${value}T00:00:00`).getTime() + (end ? 86_400_000 : 0) : null);
  const iso = (ms) => (ms === null ? '' : new Date(ms).toISOString());
  return { agent: agent.value, action: action.value, since: iso(day(since.value, false)), until: iso(day(until.value, true)) };
}

function renderShell() {
  const agent = h('input', { class: 'input', id: 'audit-agent', maxlength: '200', placeholder: 'Any agent id', autocomplete: 'off', 'data-testid': 'audit-agent' });
  const action = h('select', { class: 'select', id: 'audit-action', 'data-testid': 'audit-action' },
    h('option', { value: '' }, 'Any action'), ACTIONS.map((a) => h('option', { value: a }, a)));
  const since = h('input', { class: 'input', id: 'audit-since', type: 'date', 'data-testid': 'audit-since' });
  const until = h('input', { class: 'input', id: 'audit-until', type: 'date', 'data-testid': 'audit-until' });
  const csv = h('a', { class: 'btn btn-outline', href: api.auditCsvUrl({}), download: 'audit.csv', 'data-testid': 'audit-csv' }, icon('download'), 'Download CSV');
  const more = h('button', { type: 'button', class: 'btn btn-ghost btn-block', hidden: true, 'data-testid': 'audit-more', onclick: () => load(true) }, 'Load more');
  page.ui = { agent, action, since, until, csv, more, list: h('div', { class: 'table-wrap' }), summary: h('p', { class: 'page-sub' }, 'Loading…') };
  const form = h('form', { class: 'card card-pad audit-filters', 'data-testid': 'audit-filters', onsubmit: (event) => { event.preventDefault(); load(); } },
    h('label', { class: 'field-label', for: 'audit-agent' }, 'Agent', agent),
    h('label', { class: 'field-label', for: 'audit-action' }, 'Action', action),
    h('label', { class: 'field-label', for: 'audit-since' }, 'From', since),
    h('label', { class: 'field-label', for: 'audit-until' }, 'To', until),
    h('div', { class: 'audit-buttons' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'audit-apply' }, 'Apply'), csv));
  action.addEventListener('change', () => load());
  fill(page.el, h('div', { class: 'page-inner' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-title' }, h('h1', { tabindex: '-1' }, 'Audit log'), page.ui.summary)),
    h('p', { class: 'page-note' }, icon('lock'), 'Every change made in the inbox or through the API: replies, notes, assignments, labels, templates, campaigns, people and sign-ins. Only admins see this page.'),
    form, page.ui.list, more));
}

async function load(more = false) {
  const request = ++page.request;
  const wanted = filters();
  page.ui.csv.href = api.auditCsvUrl(wanted);
  try {
    const answer = await api.audit(wanted, more ? page.cursor : null);
    if (!page.active || request !== page.request) return;
    page.items = more ? [...page.items, ...answer.items] : answer.items;
    page.cursor = answer.next_cursor;
    draw();
  } catch (err) {
    if (err.status === 401 || !page.active) return;
    fill(page.ui.list, h('div', { class: 'rows-empty' }, icon('alert'), h('strong', {}, 'The audit log could not be loaded'), h('span', { class: 'muted' }, err.detail)));
  }
}

function what(entry) {
  const parts = Object.entries(entry.target).map(([k, v]) => `${k.replace(/_id$/, '')} ${v}`);
  const said = Object.entries(entry.summary).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [parts.join(' · '), said.join(' · ')].filter(Boolean);
}

function draw() {
  page.ui.summary.textContent = `${page.items.length}${page.cursor ? '+' : ''} entr${page.items.length === 1 ? 'y' : 'ies'}`;
  page.ui.more.hidden = !page.cursor;
  if (!page.items.length) {
    fill(page.ui.list, h('div', { class: 'rows-empty', 'data-testid': 'audit-empty' }, icon('search'), h('strong', {}, 'Nothing recorded for these filters')));
    return;
  }
  fill(page.ui.list, h('table', { class: 'table', 'data-testid': 'audit-list' },
    h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Who'), h('th', {}, 'Action'), h('th', {}, 'What'))),
    h('tbody', {}, page.items.map((e) => h('tr', { 'data-testid': 'audit-entry', dataset: { action: e.action } },
      h('td', { class: 'nowrap' }, h('time', { datetime: e.at }, new Date(e.at).toLocaleString())),
      h('td', {}, e.agent_id ? h('strong', {}, e.agent_name || agentName(e.agent_id)) : h('span', { class: 'muted' }, 'unknown'),
        e.agent_id ? h('div', { class: 'muted' }, e.agent_id) : null),
      h('td', {}, h('code', { class: 'audit-action' }, e.action), e.status >= 400 ? h('span', { class: 'chip chip-bad' }, String(e.status)) : null),
      h('td', { class: 'audit-what' }, what(e).map((line) => h('div', {}, line))))))));
}
