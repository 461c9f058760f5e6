// The Keys section of the Team page (admins; docs/inbox-api.md, "Keys and channels"): the
// team's API keys (never a secret), a form that makes one and shows its secret once to copy,
// and revocation (the key and every session made from it stop at once).
import { api } from './api.js';
import { ask } from './confirm.js';
import { announce, fill, h, icon, toast } from './dom.js';
import { listTime, fullTime } from './format.js';

const keys = { ui: null, items: [], people: [], alive: () => false };

// `people`: the team (GET /agents), whom an agent's key may be for; `alive`: the page is shown.
export function keysSection(people, alive) {
  keys.people = people.filter((a) => a.kind !== 'service' && a.active);
  keys.alive = alive;
  const name = h('input', { class: 'input', id: 'key-name', required: true, maxlength: '100', autocomplete: 'off', placeholder: 'CRM sync', 'data-testid': 'key-name' });
  const kind = h('select', { class: 'select', id: 'key-kind', 'data-testid': 'key-kind', onchange: () => { agentLabel.hidden = kind.value !== 'agent'; } },
    h('option', { value: 'service' }, 'Service: another system, under its own name'),
    h('option', { value: 'agent' }, 'Agent: acts as someone of the team'));
  const agent = h('select', { class: 'select', id: 'key-agent', 'data-testid': 'key-agent' },
    keys.people.map((a) => h('option', { value: a.id }, `${a.display_name} (${a.id})`)));
  const agentLabel = h('label', { class: 'field-label', for: 'key-agent', hidden: true }, 'For', agent);
  const role = h('select', { class: 'select', id: 'key-role', 'data-testid': 'key-role' },
    h('option', { value: 'agent' }, 'Agent: works conversations'),
    h('option', { value: 'admin' }, 'Admin: also templates, campaigns, keys'));
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'key-form-error' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', 'data-testid': 'key-create' }, icon('plus'), 'Create key');
  const result = h('div', { class: 'invite-result', hidden: true, 'data-testid': 'key-result' });
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted pad' }, 'Loading keys…'));
  keys.ui = { name, kind, agent, role, error, submit, result, list };
  load();
  return h('section', { class: 'invite-card keys-card', 'aria-labelledby': 'keys-title', 'data-testid': 'keys-section' },
    h('div', { class: 'card-head' }, h('h2', { id: 'keys-title' }, 'API keys'),
      h('span', { class: 'muted' }, 'For other systems (a CRM, a bot) and scripts. A key is shown once, when it is made.')),
    h('form', { class: 'keys-form', novalidate: true, onsubmit: (event) => { event.preventDefault(); create(); } },
      h('div', { class: 'invite-fields' },
        h('label', { class: 'field-label', for: 'key-name' }, 'Name', name),
        h('label', { class: 'field-label', for: 'key-kind' }, 'Kind', kind),
        agentLabel,
        h('label', { class: 'field-label', for: 'key-role' }, 'Role', role)),
      error, h('div', { class: 'page-actions' }, submit)),
    result, list);
}

async function load() {
  try {
    const answer = await api.keys();
    if (!keys.alive()) return;
    keys.items = answer.items;
    draw();
  } catch (err) {
    if (err.status === 401 || !keys.alive()) return;
    fill(keys.ui.list, h('p', { class: 'row-error pad' }, icon('alert'), err.detail));
  }
}

function draw() {
  if (!keys.items.length) {
    fill(keys.ui.list, h('p', { class: 'muted pad', 'data-testid': 'keys-empty' }, 'No usable keys.'));
    return;
  }
  fill(keys.ui.list, h('table', { class: 'table', 'data-testid': 'keys-list' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Key'), h('th', {}, 'Kind'), h('th', {}, 'Role'), h('th', {}, 'Created'), h('th', {}, h('span', { class: 'sr-only' }, 'Actions')))),
    h('tbody', {}, keys.items.map((k) => h('tr', { 'data-testid': 'key-row', dataset: { id: k.id } },
      h('td', {}, h('strong', {}, k.name), h('span', { class: 'muted' }, ` · ${k.agent_id}`)),
      h('td', {}, h('code', { class: 'key-prefix' }, k.prefix ? `${k.prefix}…` : k.id)),
      h('td', {}, k.kind === 'service' ? 'Service' : 'Agent'),
      h('td', {}, h('span', { class: `chip ${k.role === 'admin' ? 'chip-done' : 'chip-info'}` }, k.role === 'admin' ? 'Admin' : 'Agent')),
      h('td', { title: k.created_at ? fullTime(k.created_at) : '' }, k.created_at ? listTime(k.created_at) : h('span', { class: 'muted' }, 'unknown')),
      h('td', { class: 'num' }, h('button', { type: 'button', class: 'btn btn-outline btn-sm', 'data-testid': 'key-revoke', 'aria-label': `Revoke ${k.name}`, onclick: () => revoke(k) }, 'Revoke')))))));
}

async function create() {
  const { name, kind, agent, role, error, submit, result } = keys.ui;
  error.hidden = true;
  if (!name.value.trim()) {
    error.textContent = 'Name the key after what uses it, like "CRM sync".';
    error.hidden = false;
    name.focus();
    return;
  }
  submit.disabled = true;
  try {
    const body = { name: name.value.trim(), kind: kind.value, role: role.value };
    if (kind.value === 'agent') body.agent_id = agent.value;
    const made = await api.createKey(body);
    const field = h('input', { class: 'input input-mono', readonly: true, value: made.secret, 'aria-label': 'New API key', 'data-testid': 'key-secret', onfocus: (event) => event.target.select() });
    const copy = h('button', { type: 'button', class: 'btn btn-outline', 'data-testid': 'key-copy', onclick: () => copySecret(made.secret) }, icon('link'), 'Copy key');
    fill(result, h('p', {}, h('strong', {}, `Copy the key for ${made.name} now`), h('span', { class: 'muted' }, ' It is not shown again: only a digest of it is stored. Send it as "Authorization: Bearer …".')),
      h('div', { class: 'invite-link-row' }, field, copy));
    result.hidden = false;
    name.value = '';
    keys.items = [{ ...made, secret: undefined }, ...keys.items];
    draw();
    announce(`Key ${made.name} created`);
    field.focus();
  } catch (err) {
    if (err.status === 401) return;
    error.textContent = err.detail;
    error.hidden = false;
  } finally {
    submit.disabled = false;
  }
}

async function copySecret(secret) {
  try {
    await navigator.clipboard.writeText(secret);
    toast('Key copied');
  } catch {
    toast('Select the key and copy it (the browser did not allow copying).', 'error');
  }
}

async function revoke(key) {
  const yes = await ask(`Revoke ${key.name}?`,
    `Whatever uses this key is refused from its next request, and browsers signed in with it are signed out. This cannot be undone; make a new key instead.`,
    'Revoke key', { danger: true });
  if (!yes) return;
  try {
    await api.revokeKey(key.id);
    keys.items = keys.items.filter((k) => k.id !== key.id);
    keys.ui.result.hidden = true;
    draw();
    toast(`${key.name} was revoked`);
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
  }
}
