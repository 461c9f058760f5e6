// The templates page (#/templates): the tenant's WhatsApp templates with their review status,
// quality and rejection reason; "Sync from WhatsApp"; edit and delete; the create form
// (#/templates/new), which also edits (#/templates/edit/<id>) the templates Meta lets change.
import { api } from './api.js';
import { ask } from './confirm.js';
import { announce, fill, h, icon, toast } from './dom.js';
import { listTime, fullTime } from './format.js';
import { templateDetails } from './notices.js';
import { renderPreview } from './preview.js';
import { adminOnly, isAdmin } from './roles.js';
import { closeTemplateForm, openTemplateForm } from './templateform.js';

export const STATUS = {
  APPROVED: ['Approved', 'ok'],
  PENDING: ['In review', 'pending'],
  IN_APPEAL: ['In appeal', 'pending'],
  REJECTED: ['Rejected', 'bad'],
  PAUSED: ['Paused', 'warn'],
  DISABLED: ['Disabled', 'bad'],
  LIMIT_EXCEEDED: ['Limit exceeded', 'warn'],
  PENDING_DELETION: ['Being deleted', 'muted'],
  ARCHIVED: ['Archived', 'muted'],
};
// Meta's rejection reasons, in words an agent can act on.
const REASONS = {
  INVALID_FORMAT: 'The format breaks one of Meta\'s rules (variables, length or placement).',
  PROMOTIONAL: 'Meta considers the content promotional for its category.',
  INCORRECT_CATEGORY: 'The content does not match the category chosen.',
  TAG_CONTENT_MISMATCH: 'The content does not match the category chosen.',
  ABUSIVE_CONTENT: 'Meta found the content abusive or against its policies.',
  SCAM: 'Meta flagged the content as a possible scam.',
  NONE: 'Meta gave no reason.',
};
const FILTERS = [
  ['all', 'All', () => true],
  ['approved', 'Approved', (t) => t.status === 'APPROVED'],
  ['review', 'In review', (t) => t.status === 'PENDING' || t.status === 'IN_APPEAL'],
  ['rejected', 'Rejected', (t) => t.status === 'REJECTED'],
  ['inactive', 'Paused or disabled', (t) => ['PAUSED', 'DISABLED', 'LIMIT_EXCEEDED', 'ARCHIVED', 'PENDING_DELETION'].includes(t.status)],
];
// A template in review is approved or rejected by a webhook the page does not hear: look again.
const REVIEW_POLL_MS = 3000;

const page = { el: null, items: null, filter: 'all', timer: 0, open: new Set(), highlight: null, loading: false, active: false };

export function showTemplates(el, arg) {
  page.el = el;
  page.active = true;
  if (arg === 'new') { openTemplateForm(el, { onCreated }); return; }
  if (arg && arg.startsWith('edit/')) { openEdit(arg.slice('edit/'.length)); return; }
  renderShell();
  load();
}

// The edit form, from the stored template (fresh: its status decides what may change).
async function openEdit(id) {
  fill(page.el, h('div', { class: 'page-inner' }, h('p', { class: 'muted pad' }, 'Loading…')));
  try {
    const template = await api.template(id);
    if (!page.active) return;
    if (!template.editable) {
      const [label] = STATUS[template.status] || [template.status];
      fill(page.el, h('div', { class: 'page-inner' }, h('a', { class: 'crumb', href: '#/templates' }, icon('back'), 'Templates'),
        h('div', { class: 'rows-empty', 'data-testid': 'template-not-editable' }, icon('alert'), h('strong', {}, `${template.name} cannot be edited now`),
          h('span', { class: 'muted' }, `WhatsApp allows edits of approved, rejected or paused templates (an approved one once a day); this one is ${String(label).toLowerCase()}.`))));
      return;
    }
    openTemplateForm(page.el, { onCreated, template });
  } catch (err) {
    if (err.status === 401 || !page.active) return;
    fill(page.el, h('div', { class: 'page-inner' }, h('a', { class: 'crumb', href: '#/templates' }, icon('back'), 'Templates'),
      h('div', { class: 'rows-empty' }, icon('alert'), h('strong', {}, err.status === 404 ? 'No such template' : 'The template could not be loaded'), h('span', { class: 'muted' }, err.detail))));
  }
}

export function leaveTemplates() {
  page.active = false;
  clearTimeout(page.timer);
  closeTemplateForm();
}

function onCreated(template) {
  page.highlight = template.id;
  location.hash = '#/templates';
}

export const statusChip = (status) => {
  const [label, tone] = STATUS[status] || [status ? status[0] + status.slice(1).toLowerCase().replace(/_/g, ' ') : 'Unknown', 'muted'];
  return h('span', { class: `chip chip-${tone}`, 'data-testid': 'template-status', dataset: { status: status || '' } },
    h('span', { class: 'dot', 'aria-hidden': 'true' }), label);
};

function renderShell() {
  // Agents read and send templates; creating, editing, deleting and syncing are admins'.
  const sync = adminOnly(h('button', { type: 'button', class: 'btn btn-outline', 'data-testid': 'templates-sync', 'aria-label': 'Sync from WhatsApp', title: 'Read every template from WhatsApp again', onclick: syncNow }, icon('refresh'), h('span', { class: 'btn-text' }, 'Sync from WhatsApp')), 'sync templates from WhatsApp');
  const create = adminOnly(h('a', { class: 'btn btn-primary', href: '#/templates/new', 'data-testid': 'template-new' }, icon('plus'), 'New template'), 'create templates');
  page.ui = {
    sync,
    summary: h('p', { class: 'page-sub' }, 'Loading…'),
    filters: h('div', { class: 'chips-row', role: 'group', 'aria-label': 'Show templates' }),
    list: h('ul', { class: 'rows', 'aria-label': 'Templates', 'data-testid': 'template-list' }),
  };
  fill(page.el, h('div', { class: 'page-inner' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-title' }, h('h1', { tabindex: '-1' }, 'Templates'), page.ui.summary),
      h('div', { class: 'page-actions' }, sync, create)),
    h('p', { class: 'page-note' }, icon('template'), 'Templates are the only messages WhatsApp lets you send first, or after 24 hours of silence. Meta reviews each one before it can be sent.'),
    page.ui.filters,
    page.ui.list));
  drawFilters();
  fill(page.ui.list, ...Array.from({ length: 4 }, () => h('li', { class: 'row skeleton-row', 'aria-hidden': 'true' }, h('span', { class: 'sk w40' }), h('span', { class: 'sk w90' }))));
}

function drawFilters() {
  const items = visibleItems();
  fill(page.ui.filters, FILTERS.map(([key, label, match]) => h('button', {
    type: 'button', 'aria-pressed': String(page.filter === key), 'data-filter': key,
    onclick: () => { page.filter = key; drawFilters(); drawList(); },
  }, label, items ? h('span', { class: 'count' }, String(items.filter(match).length)) : null)));
}

const visibleItems = () => page.items && page.items.filter((t) => t.status !== 'DELETED');

async function load() {
  clearTimeout(page.timer);
  if (page.loading) return;
  page.loading = true;
  try {
    const answer = await api.allTemplates();
    if (!page.active || !page.ui) return;
    const before = new Map((page.items || []).map((t) => [t.id, t.status]));
    page.items = answer.items;
    for (const t of page.items) {
      const was = before.get(t.id);
      if (was && was !== t.status) announce(`${t.name} (${t.language}) is now ${(STATUS[t.status] || [t.status])[0].toLowerCase()}.`);
    }
    drawFilters();
    drawList();
  } catch (err) {
    if (err.status !== 401 && page.ui) fill(page.ui.list, h('li', { class: 'row row-error' }, icon('alert'), err.detail));
  } finally {
    page.loading = false;
    if (page.active && page.ui && (page.items || []).some((t) => ['PENDING', 'IN_APPEAL', 'PENDING_DELETION'].includes(t.status))) {
      page.timer = setTimeout(load, REVIEW_POLL_MS);
    }
  }
}

function drawList() {
  const items = visibleItems() || [];
  const approved = items.filter((t) => t.status === 'APPROVED').length;
  page.ui.summary.textContent = items.length ? `${items.length} template${items.length === 1 ? '' : 's'} · ${approved} approved` : 'None yet';
  const match = FILTERS.find(([key]) => key === page.filter)[2];
  const shown = items.filter(match);
  if (!shown.length) {
    fill(page.ui.list, h('li', { class: 'rows-empty' }, icon('template'),
      h('strong', {}, items.length ? 'No templates with this status' : 'No templates yet'),
      h('span', { class: 'muted' }, items.length ? 'Try another filter.' : 'Create one, or sync the ones your WhatsApp Business Account already has.')));
    return;
  }
  fill(page.ui.list, ...shown.map(row));
  if (page.highlight) {
    const el = page.ui.list.querySelector(`li[data-id="${CSS.escape(page.highlight)}"]`);
    if (el) { el.classList.add('is-new'); el.scrollIntoView({ block: 'nearest' }); }
    page.highlight = null;
  }
}

function quality(t) {
  if (!t.quality || t.quality === 'UNKNOWN') return null;
  const word = { GREEN: 'High', YELLOW: 'Medium', RED: 'Low' }[t.quality] || t.quality;
  return h('span', { class: `quality quality-${t.quality.toLowerCase()}`, title: `Quality rating from Meta: ${word.toLowerCase()}` },
    h('span', { class: 'dot', 'aria-hidden': 'true' }), `${word} quality`);
}

function row(t) {
  const open = page.open.has(t.id);
  const previewEl = h('div', { class: 'row-preview wa-canvas', 'aria-live': 'polite' });
  const toggle = h('button', { type: 'button', class: 'row-main', 'aria-expanded': String(open), 'aria-label': `${t.name}, ${t.language}: ${open ? 'hide' : 'show'} preview`,
    onclick: () => { if (page.open.has(t.id)) page.open.delete(t.id); else page.open.add(t.id); drawList(); } },
  h('span', { class: 'row-title' }, h('strong', { class: 'tpl-name', 'data-testid': 'template-name' }, t.name)),
  h('span', { class: 'row-meta' },
    h('span', { class: 'tag' }, t.language),
    t.category ? h('span', { class: 'tag' }, t.category[0] + t.category.slice(1).toLowerCase()) : null,
    quality(t),
    t.status_at ? h('span', { class: 'muted', title: fullTime(t.status_at) }, `updated ${listTime(t.status_at)}`) : null),
  h('span', { class: 'row-body' }, t.body_text || 'Body not synced yet'));
  const reason = t.reason && t.status !== 'APPROVED'
    ? h('p', { class: `row-reason tone-${(STATUS[t.status] || [null, 'muted'])[1]}`, 'data-testid': 'template-reason' }, icon('alert'),
      h('span', {}, h('strong', {}, t.reason.replace(/_/g, ' ').toLowerCase().replace(/^./, (c) => c.toUpperCase())), REASONS[t.reason] ? ` · ${REASONS[t.reason]}` : ''))
    : null;
  const li = h('li', { class: `row tpl-row${open ? ' is-open' : ''}`, 'data-testid': 'template-row', dataset: { id: t.id, name: t.name, status: t.status } },
    h('div', { class: 'row-line' },
      toggle,
      h('div', { class: 'row-side' },
        statusChip(t.status),
        t.editable && isAdmin() ? h('a', { class: 'btn-icon btn-icon-sm', href: `#/templates/edit/${encodeURIComponent(t.id)}`, 'aria-label': `Edit ${t.name} (${t.language})`, title: 'Edit', 'data-testid': 'template-edit' }, icon('compose')) : null,
        isAdmin() ? h('button', { type: 'button', class: 'btn-icon btn-icon-sm', 'aria-label': `Delete ${t.name} (${t.language})`, title: 'Delete', 'data-testid': 'template-delete', onclick: () => remove(t) }, icon('trash')) : null)),
    reason,
    templateDetails(t),
    open ? previewEl : null);
  if (open) {
    api.previewStored(t.id)
      .then((p) => renderPreview(previewEl, p))
      .catch(() => fill(previewEl, h('p', { class: 'muted' }, 'Preview unavailable.')));
  }
  return li;
}

async function syncNow() {
  const button = page.ui.sync;
  button.disabled = true;
  button.classList.add('is-spinning');
  try {
    const result = await api.syncTemplates();
    const failed = (result.accounts || []).filter((a) => a.error);
    if (failed.length) toast(`Synced ${result.synced} templates; ${failed.length} account${failed.length === 1 ? '' : 's'} failed: ${failed[0].error}`, 'error');
    else toast(`Synced ${result.synced} template${result.synced === 1 ? '' : 's'} from WhatsApp`);
    await load();
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
  } finally {
    button.disabled = false;
    button.classList.remove('is-spinning');
  }
}

async function remove(t) {
  const approved = t.status === 'APPROVED';
  const yes = await ask(`Delete ${t.name}?`,
    `The ${t.language} version is deleted at WhatsApp and can no longer be sent.${approved ? ' Meta keeps an approved name for 30 days: it cannot be created again until then.' : ''}`,
    'Delete template', { danger: true });
  if (!yes) return;
  try {
    await api.deleteTemplate(t.id);
    toast(`Deleted ${t.name} (${t.language})`);
    page.items = page.items.filter((x) => x.id !== t.id);
    drawFilters();
    drawList();
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
  }
}
