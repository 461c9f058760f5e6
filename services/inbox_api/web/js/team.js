// The Team page (#/team, admins): the tenant's people with role and status, an invitation form
// whose one-time link is shown to copy (it is shown once: only its digest is stored), and
// deactivation (the person's sessions end at once); the round-robin switch (turns.js) and the
// team's API keys (keys.js).
import { api } from './api.js';
import { ask } from './confirm.js';
import { announce, fill, h, icon, toast } from './dom.js';
import { keysSection } from './keys.js';
import { rotationSection } from './turns.js';
import { state } from './state.js';

const page = { el: null, ui: null, items: null, active: false };

export function showTeam(el) {
  page.el = el;
  page.active = true;
  renderShell();
  load();
}

export function leaveTeam() {
  page.active = false;
}

function renderShell() {
  const name = h('input', { class: 'input', id: 'invite-name', required: true, maxlength: '100', autocomplete: 'off', 'data-testid': 'invite-name' });
  const email = h('input', { class: 'input', id: 'invite-email', type: 'email', required: true, maxlength: '254', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'invite-email' });
  const role = h('select', { class: 'select', id: 'invite-role', 'data-testid': 'invite-role' },
    h('option', { value: 'agent' }, 'Agent: works conversations'),
    h('option', { value: 'admin' }, 'Admin: also templates, campaigns and people'));
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'invite-form-error' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', 'data-testid': 'invite-create' }, icon('userplus'), 'Create invitation link');
  const result = h('div', { class: 'invite-result', hidden: true, 'data-testid': 'invite-result' });
  const form = h('form', { class: 'invite-card', novalidate: true, onsubmit: (event) => { event.preventDefault(); invite(); } },
    h('div', { class: 'card-head' }, h('h2', {}, 'Invite someone')),
    h('div', { class: 'invite-fields' },
      h('label', { class: 'field-label', for: 'invite-name' }, 'Name', name),
      h('label', { class: 'field-label', for: 'invite-email' }, 'Work email', email),
      h('label', { class: 'field-label', for: 'invite-role' }, 'Role', role)),
    error, h('div', { class: 'page-actions' }, submit), result);
  page.ui = {
    name, email, role, error, submit, result,
    summary: h('p', { class: 'page-sub' }, 'Loading…'),
    list: h('div', { class: 'table-wrap' }),
    more: h('div', { class: 'team-more' }),
  };
  fill(page.el, h('div', { class: 'page-inner' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-title' }, h('h1', { tabindex: '-1' }, 'Team'), page.ui.summary)),
    h('p', { class: 'page-note' }, icon('lock'), 'Admins manage templates, campaigns, keys and people; agents work conversations and send approved templates. Deactivating someone signs them out everywhere at once.'),
    form,
    page.ui.list,
    page.ui.more));
}

async function load() {
  try {
    const answer = await api.agents();
    if (!page.active) return;
    page.items = answer.items;
    draw();
    fill(page.ui.more, rotationSection(new Map(page.items.map((a) => [a.id, a.display_name]))),
      keysSection(page.items, () => page.active));
  } catch (err) {
    if (err.status === 401 || !page.active) return;
    fill(page.ui.list, h('div', { class: 'rows-empty' }, icon('alert'), h('strong', {}, 'The team could not be loaded'), h('span', { class: 'muted' }, err.detail)));
  }
}

function draw() {
  const people = page.items.filter((a) => a.kind !== 'service');
  const admins = people.filter((a) => a.role === 'admin' && a.active).length;
  const active = people.filter((a) => a.active).length;
  page.ui.summary.textContent = `${active} active ${active === 1 ? 'person' : 'people'} · ${admins} admin${admins === 1 ? '' : 's'}`;
  const me = state.me && state.me.agent_id;
  fill(page.ui.list, h('table', { class: 'table', 'data-testid': 'team-list' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Email'), h('th', {}, 'Role'), h('th', {}, 'Status'), h('th', {}, h('span', { class: 'sr-only' }, 'Actions')))),
    h('tbody', {}, page.items.map((a) => h('tr', { 'data-testid': 'team-member', dataset: { id: a.id, active: String(a.active) } },
      h('td', {}, h('strong', {}, a.display_name), a.id === me ? h('span', { class: 'muted' }, ' (you)') : null),
      h('td', {}, a.email || h('span', { class: 'muted' }, a.kind === 'service' ? 'service key' : 'API key only')),
      h('td', {}, h('span', { class: `chip ${a.role === 'admin' ? 'chip-done' : 'chip-info'}`, 'data-testid': 'member-role' }, a.role === 'admin' ? 'Admin' : 'Agent')),
      h('td', {}, h('span', { class: `chip ${a.active ? 'chip-ok' : 'chip-bad'}`, 'data-testid': 'member-status' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), a.active ? 'Active' : 'Deactivated')),
      h('td', { class: 'num' }, a.active && a.id !== me
        ? h('button', { type: 'button', class: 'btn btn-outline btn-sm', 'data-testid': 'member-deactivate', onclick: () => deactivate(a) }, 'Deactivate')
        : null))))));
}

async function invite() {
  const { name, email, role, error, submit, result } = page.ui;
  error.hidden = true;
  const missing = (!name.value.trim() && ['Enter the person\'s name.', name]) || (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.value.trim()) && ['Enter a work email like ana@company.com.', email]);
  if (missing) {
    error.textContent = missing[0];
    error.hidden = false;
    missing[1].focus();
    return;
  }
  submit.disabled = true;
  try {
    const made = await api.invite({ name: name.value.trim(), email: email.value.trim(), role: role.value });
    const link = `${location.origin}${location.pathname.replace(/\/$/, '')}${made.link_path}`;
    const field = h('input', { class: 'input input-mono', readonly: true, value: link, 'aria-label': 'Invitation link', 'data-testid': 'invite-link', onfocus: (event) => event.target.select() });
    const copy = h('button', { type: 'button', class: 'btn btn-outline', 'data-testid': 'invite-copy', onclick: () => copyLink(link) }, icon('link'), 'Copy link');
    fill(result, h('p', {}, h('strong', {}, `Send this link to ${made.name}`), h('span', { class: 'muted' }, ` (${made.email}, ${made.role}). It works once, until ${new Date(made.expires_at).toLocaleDateString()}, and is not shown again.`)),
      h('div', { class: 'invite-link-row' }, field, copy));
    result.hidden = false;
    name.value = '';
    email.value = '';
    announce(`Invitation link for ${made.name} created`);
    field.focus();
  } catch (err) {
    if (err.status === 401) return;
    error.textContent = err.detail;
    error.hidden = false;
    if (err.field === 'email') email.focus();
  } finally {
    submit.disabled = false;
  }
}

async function copyLink(link) {
  try {
    await navigator.clipboard.writeText(link);
    toast('Link copied');
  } catch {
    toast('Select the link and copy it (the browser did not allow copying).', 'error');
  }
}

async function deactivate(agent) {
  const yes = await ask(`Deactivate ${agent.display_name}?`,
    `${agent.display_name} is signed out everywhere at once, and their password and keys stop working. Their conversations stay as they are.`,
    'Deactivate', { danger: true });
  if (!yes) return;
  try {
    const done = await api.deactivateAgent(agent.id);
    page.items = page.items.map((a) => (a.id === done.id ? { ...a, active: false } : a));
    draw();
    toast(`${agent.display_name} was deactivated`);
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
  }
}
