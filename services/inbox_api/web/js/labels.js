// Labels (docs/inbox-api.md, "Labels"): the chips on a conversation, the list's label filter,
// and the thread header's picker (put a label on, take it off, or make a new one).
import { api } from './api.js';
import { fill, h, icon, toast } from './dom.js';
import { $, state } from './state.js';

export const labels = { items: [] };
// The open conversation's picker (labelPicker).
let picker = null;
const DEFAULT_COLOURS = ['#1f883d', '#0969da', '#8250df', '#bf3989', '#d4a72c', '#cf222e', '#6e7781'];

// The API checks colours (#rrggbb); a stray value still cannot leave the style attribute.
const safeColour = (colour) => (/^#[0-9a-f]{6}$/i.test(colour || '') ? colour : '#6e7781');

export function labelChip(label) {
  return h('span', { class: 'label-chip', style: `--label:${safeColour(label.colour)}`, title: label.name, 'data-testid': 'label-chip' },
    h('span', { class: 'label-dot', 'aria-hidden': 'true' }), label.name);
}

export function labelChips(conversation) {
  const list = conversation.labels || [];
  return list.length ? h('span', { class: 'label-chips', 'data-testid': 'label-chips' }, list.map(labelChip)) : null;
}

// Labels are not on the change feed: of two copies of a conversation (a live update read before
// a label change, the change's own answer), the one with the later labels_at keeps its labels.
export function withNewerLabels(old, c) {
  if (!old || !old.labels_at) return c;
  if (c.labels_at && Date.parse(c.labels_at) >= Date.parse(old.labels_at)) return c;
  return { ...c, labels: old.labels, labels_at: old.labels_at };
}

// The sidebar's label filter: all conversations, or those with one label (GET ?label=<id>).
export async function startLabels(onChange) {
  const select = $('label-filter');
  if (!select.dataset.ready) {
    select.dataset.ready = '1';
    select.addEventListener('change', () => {
      state.label = select.value || null;
      select.classList.toggle('is-active', Boolean(state.label));
      onChange();
    });
  }
  await refreshLabels();
}

export async function refreshLabels() {
  try {
    labels.items = (await api.labels()).items;
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
    return;
  }
  const select = $('label-filter');
  const current = state.label || '';
  fill(select, h('option', { value: '' }, 'All labels'),
    labels.items.map((l) => h('option', { value: l.id }, l.name)));
  select.value = labels.items.some((l) => l.id === current) ? current : '';
  select.hidden = labels.items.length === 0;
}

// The thread header's picker: a button, and a popover of the tenant's labels as checkboxes with
// a form for a new one. One picker per open conversation: the header is redrawn after every
// change (and every live update), and the same element goes back in, open and half-typed as it
// was.
export function labelPicker(conversation, onLabels) {
  if (picker && picker.id === conversation.id) {
    Object.assign(picker, { conversation, onLabels });
    if (!picker.pop.hidden) drawOptions(picker);
    return picker.wrap;
  }
  if (picker) picker.close();
  const p = { id: conversation.id, conversation, onLabels };
  p.options = h('div', { class: 'label-options-wrap' });
  p.name = h('input', { class: 'input input-sm', maxlength: '40', placeholder: 'New label', 'aria-label': 'New label name', 'data-testid': 'label-new-name' });
  p.colour = h('input', { type: 'color', class: 'label-colour', value: DEFAULT_COLOURS[labels.items.length % DEFAULT_COLOURS.length], 'aria-label': 'New label colour', 'data-testid': 'label-new-colour' });
  const form = h('form', { class: 'label-new', onsubmit: (event) => { event.preventDefault(); createLabel(p); } }, p.colour, p.name,
    h('button', { type: 'submit', class: 'btn btn-outline btn-sm', 'data-testid': 'label-create' }, 'Add'));
  p.pop = h('div', { class: 'label-pop', role: 'dialog', 'aria-label': 'Labels', hidden: true, 'data-testid': 'label-pop' },
    h('p', { class: 'label-pop-title' }, 'Labels'), p.options, form);
  p.button = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', 'data-testid': 'label-picker' },
    icon('tag'), h('span', { class: 'btn-text' }, 'Labels'));
  p.wrap = h('div', { class: 'label-picker' }, p.button, p.pop);
  const outside = (event) => { if (!p.wrap.contains(event.target)) p.close(); };
  p.close = () => {
    p.pop.hidden = true;
    p.button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('click', outside, true);
  };
  p.button.addEventListener('click', () => {
    if (!p.pop.hidden) { p.close(); return; }
    drawOptions(p);
    p.pop.hidden = false;
    p.button.setAttribute('aria-expanded', 'true');
    document.addEventListener('click', outside, true);
    p.pop.querySelector('input')?.focus();
  });
  p.pop.addEventListener('keydown', (event) => { if (event.key === 'Escape') { event.stopPropagation(); p.close(); p.button.focus(); } });
  picker = p;
  return p.wrap;
}

async function toggle(p, label, checked) {
  try {
    const answer = checked ? await api.putLabel(p.id, label.id) : await api.removeLabel(p.id, label.id);
    p.onLabels(answer);
  } catch (err) {
    toast(err.detail, 'error');
  }
}

async function createLabel(p) {
  if (!p.name.value.trim()) return;
  try {
    const label = await api.createLabel({ name: p.name.value, colour: p.colour.value });
    p.name.value = '';
    await refreshLabels();
    await toggle(p, label, true);
  } catch (err) {
    toast(err.detail, 'error');
  }
}

function drawOptions(p) {
  const on = new Set((p.conversation.labels || []).map((l) => l.id));
  fill(p.options, labels.items.length
    ? h('ul', { class: 'label-options' }, labels.items.map((l) => h('li', {},
      h('label', { class: 'label-option', 'data-testid': 'label-option' },
        h('input', { type: 'checkbox', checked: on.has(l.id), onchange: (event) => toggle(p, l, event.target.checked) }),
        labelChip(l)))))
    : h('p', { class: 'muted label-none' }, 'No labels yet.'));
}
