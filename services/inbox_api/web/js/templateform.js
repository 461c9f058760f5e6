// "New template" (#/templates/new): name, category, language, header/body/footer/buttons with
// numbered or named variables and their examples, a live preview from POST /templates/preview,
// and the server's validation errors shown on the field they name (docs/templates.md).
// The same form edits a stored template (#/templates/edit/<id>, PUT /templates/{id}): prefilled,
// name, language and account fixed (an approved template's category too, Meta's rule).
import { api } from './api.js';
import { fill, h, icon, toast } from './dom.js';
import { formatNumber } from './format.js';
import { renderPreview, variablesIn } from './preview.js';
import { isAdmin } from './roles.js';
import { state } from './state.js';

const LANGUAGES = [
  ['en_US', 'English (US)'], ['en_GB', 'English (UK)'], ['es', 'Spanish'], ['es_MX', 'Spanish (Mexico)'],
  ['pt_BR', 'Portuguese (Brazil)'], ['pt_PT', 'Portuguese (Portugal)'], ['de', 'German'], ['fr', 'French'],
  ['it', 'Italian'], ['nl', 'Dutch'], ['pl', 'Polish'], ['tr', 'Turkish'], ['id', 'Indonesian'], ['hi', 'Hindi'], ['ar', 'Arabic'],
];
const LIMITS = { header: 60, body: 1024, footer: 60, button: 25 };
const PREVIEW_DEBOUNCE_MS = 250;

let f = null; // the open form: its elements and what was typed

export function closeTemplateForm() {
  if (f) clearTimeout(f.previewTimer);
  f = null;
}

function field(label, input, { hint, key, counter } = {}) {
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const wrap = h('div', { class: 'field' },
    h('label', { class: 'field-label', for: input.id }, label, counter || null),
    input,
    hint ? h('p', { class: 'field-hint' }, hint) : null,
    error);
  if (key) f.fields.set(key, { input, error });
  return wrap;
}

function counterFor(input, limit) {
  const el = h('span', { class: 'counter', 'aria-hidden': 'true' });
  const update = () => { el.textContent = `${input.value.length}/${limit}`; el.classList.toggle('is-over', input.value.length > limit); };
  input.addEventListener('input', update);
  update();
  return el;
}

const SUBMIT_LABEL = { create: 'Submit for review', edit: 'Submit changes for review' };

export async function openTemplateForm(el, { onCreated, template = null }) {
  closeTemplateForm();
  if (!isAdmin()) {
    // An agent who followed a link here: the API would refuse the change (403 admin_only).
    fill(el, h('div', { class: 'page-inner' }, h('a', { class: 'crumb', href: '#/templates' }, icon('back'), 'Templates'),
      h('div', { class: 'rows-empty', 'data-testid': 'template-admin-only' }, icon('lock'), h('strong', {}, `Only admins can ${template ? 'edit' : 'create'} templates`),
        h('span', { class: 'muted' }, 'Ask an admin of your team; you can send every approved template from a conversation.'))));
    return;
  }
  f = { fields: new Map(), examples: new Map(), buttons: [], onCreated, previewRequest: 0, previewTimer: 0, busy: false, wabas: [], editing: template };
  const name = h('input', { id: 'tpl-name', class: 'input input-mono', autocomplete: 'off', spellcheck: 'false', placeholder: 'order_update', maxlength: '512', 'data-testid': 'tpl-name' });
  // Meta's names are lowercase with underscores: type "Order update", get "order_update".
  name.addEventListener('input', () => {
    const at = name.selectionStart;
    const fixed = name.value.toLowerCase().replace(/[\s-]/g, '_');
    if (fixed !== name.value) { name.value = fixed; name.setSelectionRange(at, at); }
  });
  const category = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Category', id: 'tpl-category', tabindex: '-1' },
    ['UTILITY', 'MARKETING'].map((value) => h('label', {},
      h('input', { type: 'radio', name: 'tpl-category', value, checked: value === 'UTILITY', 'data-testid': `tpl-category-${value.toLowerCase()}` }),
      h('span', {}, value === 'UTILITY' ? 'Utility' : 'Marketing'))));
  const language = h('select', { id: 'tpl-language', class: 'select', 'data-testid': 'tpl-language' },
    LANGUAGES.map(([code, label]) => h('option', { value: code }, `${label} · ${code}`)));
  const waba = h('select', { id: 'tpl-waba', class: 'select', 'data-testid': 'tpl-waba' });
  const wabaField = field('WhatsApp Business Account', waba, { key: 'waba_id' });
  wabaField.hidden = true;
  const format = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Variables' },
    [['positional', 'Numbered {{1}}'], ['named', 'Named {{name}}']].map(([value, label]) => h('label', {},
      h('input', { type: 'radio', name: 'tpl-format', value, checked: value === 'positional', 'data-testid': `tpl-format-${value}` }), h('span', {}, label))));
  const headerType = h('select', { id: 'tpl-header-type', class: 'select', 'data-testid': 'tpl-header-type' },
    [['', 'None'], ['TEXT', 'Text'], ['IMAGE', 'Image'], ['VIDEO', 'Video'], ['DOCUMENT', 'Document']].map(([v, l]) => h('option', { value: v }, l)));
  const headerText = h('input', { id: 'tpl-header-text', class: 'input', autocomplete: 'off', placeholder: 'Your order is on its way', 'data-testid': 'tpl-header-text' });
  const headerMedia = h('input', { id: 'tpl-header-media', class: 'input', type: 'url', autocomplete: 'off', placeholder: 'https://example.com/sample.jpg', 'data-testid': 'tpl-header-media' });
  const body = h('textarea', { id: 'tpl-body', class: 'input textarea', rows: 6, placeholder: 'Hi {{1}}, your order {{2}} is on its way.', 'data-testid': 'tpl-body' });
  const footer = h('input', { id: 'tpl-footer', class: 'input', autocomplete: 'off', placeholder: 'Reply STOP to opt out', 'data-testid': 'tpl-footer' });
  const headerTextField = field('Header text', headerText, { key: 'header.text', counter: counterFor(headerText, LIMITS.header), hint: 'At most one variable.' });
  const headerMediaField = field('Sample media link', headerMedia, { key: 'header.example', hint: 'Meta reviews the template with this sample.' });
  const addVariable = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'tpl-add-variable', onclick: () => insertVariable() }, icon('plus'), 'Add variable');
  const examplesEl = h('div', { class: 'examples', 'data-testid': 'tpl-examples' });
  const buttonsList = h('div', { class: 'buttons-list' });
  const formError = h('div', { class: 'composer-error', role: 'alert', hidden: true, 'data-testid': 'tpl-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'tpl-submit' }, SUBMIT_LABEL[template ? 'edit' : 'create']);
  const previewEl = h('div', { class: 'wa-preview', 'aria-live': 'polite', 'data-testid': 'tpl-preview' });
  const previewNote = h('p', { class: 'preview-note' });
  Object.assign(f, { name, category, language, waba, wabaField, format, headerType, headerText, headerMedia, headerTextField, headerMediaField, body, footer, examplesEl, buttonsList, formError, submit, previewEl, previewNote });

  const form = h('form', { class: 'card form-card', novalidate: true, 'data-testid': 'template-form', onsubmit: (event) => { event.preventDefault(); send(); } },
    h('section', { class: 'form-section' },
      h('h2', {}, 'Basics'),
      field('Name', name, { key: 'name', hint: 'Lowercase letters, digits and underscores. Customers never see it.' }),
      h('div', { class: 'form-grid' },
        h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Category'), category, fieldError('category', category)),
        field('Language', language, { key: 'language' })),
      wabaField),
    h('section', { class: 'form-section' },
      h('h2', {}, 'Content'),
      h('div', { class: 'form-grid' }, field('Header', headerType), h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Variables'), format)),
      headerTextField, headerMediaField,
      h('div', { class: 'field' },
        h('div', { class: 'field-label-row' }, h('label', { class: 'field-label', for: 'tpl-body' }, 'Body', counterFor(body, LIMITS.body)), addVariable),
        body,
        h('p', { class: 'field-hint' }, 'WhatsApp formatting works: *bold*, _italic_, ~strikethrough~, ```monospace```. The body cannot start or end with a variable.'),
        fieldError('body.text', body)),
      field('Footer (optional)', footer, { key: 'footer.text', counter: counterFor(footer, LIMITS.footer) })),
    h('section', { class: 'form-section' },
      h('h2', {}, 'Variable examples'),
      h('p', { class: 'field-hint' }, 'Meta reviews the template with these sample values; the preview shows them too.'),
      examplesEl),
    h('section', { class: 'form-section' },
      h('h2', {}, 'Buttons ', h('span', { class: 'muted' }, '(optional)')),
      buttonsList,
      h('div', { class: 'add-buttons', id: 'tpl-buttons', tabindex: '-1' },
        h('button', { type: 'button', class: 'btn btn-outline btn-sm', onclick: () => addButton('QUICK_REPLY') }, icon('reply'), 'Quick reply'),
        h('button', { type: 'button', class: 'btn btn-outline btn-sm', onclick: () => addButton('URL') }, icon('link'), 'Website'),
        h('button', { type: 'button', class: 'btn btn-outline btn-sm', onclick: () => addButton('PHONE_NUMBER') }, icon('phone'), 'Call')),
      fieldError('buttons', null)),
    formError,
    h('div', { class: 'form-actions' }, h('a', { class: 'btn btn-ghost', href: '#/templates' }, 'Cancel'), submit));

  fill(el, h('div', { class: 'page-inner' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-title' },
        h('a', { class: 'crumb', href: '#/templates' }, icon('back'), 'Templates'),
        h('h1', { tabindex: '-1' }, template ? `Edit ${template.name}` : 'New template'),
        template ? h('p', { class: 'page-sub' }, `${template.language} · Meta reviews the template again. An approved one can be edited once a day and 10 times in 30 days.`) : null)),
    h('div', { class: 'editor' }, form,
      h('aside', { class: 'editor-side', 'aria-label': 'Preview' },
        h('div', { class: 'phone' }, h('div', { class: 'phone-bar' }, h('span', { class: 'avatar avatar-sm', style: '--h:160' }, icon('user')), h('strong', {}, 'Preview')),
          h('div', { class: 'wa-canvas' }, previewEl)),
        previewNote))));

  for (const input of [name, language, waba, headerType, headerText, headerMedia, body, footer]) {
    input.addEventListener('input', () => { clearError(input); changed(); });
  }
  category.addEventListener('change', () => { clearError(category); changed(); });
  format.addEventListener('change', changed);
  if (template) prefill(template);
  changed();
  (template ? body : name).focus();
  if (template) return;
  // Several accounts: the tenant picks one, named by its numbers (GET /me has each number's).
  const accounts = new Map();
  for (const c of (state.me && state.me.channels) || []) {
    if (!c.waba_id) continue;
    if (!accounts.has(c.waba_id)) accounts.set(c.waba_id, []);
    accounts.get(c.waba_id).push((c.display_number || formatNumber(c.display_phone_number)) || c.phone_number_id);
  }
  if (accounts.size > 1) {
    fill(waba, [...accounts].map(([id, numbers]) => h('option', { value: id }, `${numbers.join(', ')} · ${id}`)));
    wabaField.hidden = false;
    f.wabas = [...accounts.keys()];
  }
}

// Meta's components back into the form; the examples come from the template's parameters
// (keyed like the form's: "1", "header.1", "button.0").
function prefill(t) {
  const part = (type) => (t.components || []).find((c) => String(c.type).toUpperCase() === type) || null;
  f.name.value = t.name;
  f.name.disabled = true;
  if (![...f.language.options].some((o) => o.value === t.language)) f.language.append(h('option', { value: t.language }, t.language));
  f.language.value = t.language;
  f.language.disabled = true;
  const unsupported = [];
  const known = ['UTILITY', 'MARKETING'].includes(t.category);
  if (t.category && !known) unsupported.push(`the ${t.category.toLowerCase()} category`);
  for (const radio of f.category.querySelectorAll('input')) {
    if (known) radio.checked = radio.value === t.category;
    radio.disabled = t.status === 'APPROVED'; // Meta's rule: an approved template keeps its category
  }
  for (const radio of f.format.querySelectorAll('input')) radio.checked = radio.value === (t.parameter_format || 'positional');
  const header = part('HEADER');
  const headerFormat = header ? String(header.format || 'TEXT').toUpperCase() : '';
  const examples = new Map((t.parameters || []).filter((p) => p.example != null).map((p) => [p.key, p.example]));
  if (['TEXT', 'IMAGE', 'VIDEO', 'DOCUMENT'].includes(headerFormat)) {
    f.headerType.value = headerFormat;
    if (headerFormat === 'TEXT') f.headerText.value = header.text || '';
    else f.headerMedia.value = examples.get(`header.${headerFormat.toLowerCase()}`) || '';
  } else if (headerFormat) unsupported.push(`a ${headerFormat.toLowerCase()} header`);
  f.body.value = (part('BODY') || {}).text || t.body_text || '';
  f.footer.value = (part('FOOTER') || {}).text || '';
  for (const b of (part('BUTTONS') || {}).buttons || []) {
    const type = String(b.type || '').toUpperCase();
    if (['QUICK_REPLY', 'URL', 'PHONE_NUMBER'].includes(type)) f.buttons.push({ type, text: b.text || '', url: b.url || '', phone_number: b.phone_number || '', example: '' });
    else unsupported.push(`a ${type.toLowerCase().replace(/_/g, ' ')} button`);
  }
  for (const [key, value] of examples) f.examples.set(key, value);
  drawButtons();
  // An edit replaces every component: parts this form cannot show would be lost.
  if (unsupported.length) {
    fill(f.formError, icon('alert'), h('div', {}, h('strong', {}, `This template has ${unsupported.join(' and ')}, which this form cannot edit.`), h('p', {}, 'Edit it in WhatsApp Manager instead.')));
    f.formError.hidden = false;
    f.submit.disabled = true;
    f.blocked = true;
  }
}

function fieldError(key, input) {
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  f.fields.set(key, { input, error });
  return error;
}

function clearError(input) {
  for (const entry of f.fields.values()) {
    if (entry.input === input) { entry.error.hidden = true; input.removeAttribute('aria-invalid'); }
  }
  if (!f.blocked) f.formError.hidden = true;
}

const positional = () => f.format.querySelector('input:checked').value === 'positional';

function insertVariable() {
  const text = f.body.value;
  const existing = variablesIn(text);
  const token = positional()
    ? String(existing.filter((v) => /^\d+$/.test(v)).map(Number).reduce((a, b) => Math.max(a, b), 0) + 1)
    : `value_${existing.length + 1}`;
  const start = f.body.selectionStart ?? text.length;
  const end = f.body.selectionEnd ?? text.length;
  const piece = `{{${token}}}`;
  f.body.value = text.slice(0, start) + piece + text.slice(end);
  f.body.focus();
  // A named variable is selected so the name can be typed over at once.
  if (positional()) f.body.setSelectionRange(start + piece.length, start + piece.length);
  else f.body.setSelectionRange(start + 2, start + 2 + token.length);
  f.body.dispatchEvent(new Event('input'));
}

function addButton(type) {
  const b = { type, text: '', url: '', phone_number: '', example: '' };
  f.buttons.push(b);
  drawButtons();
  f.buttonsList.lastElementChild?.querySelector('input')?.focus();
  changed();
}

function drawButtons() {
  for (const key of [...f.fields.keys()]) if (key.startsWith('buttons.')) f.fields.delete(key);
  fill(f.buttonsList, f.buttons.map((b, index) => {
    const text = h('input', { id: `tpl-button-${index}-text`, class: 'input', value: b.text, placeholder: { QUICK_REPLY: 'Yes, please', URL: 'Track order', PHONE_NUMBER: 'Call us' }[b.type], 'data-testid': `tpl-button-${index}-text` });
    text.addEventListener('input', () => { b.text = text.value; clearError(text); changed(); });
    const parts = [field({ QUICK_REPLY: 'Quick reply', URL: 'Website button', PHONE_NUMBER: 'Call button' }[b.type], text, { key: `buttons.${index}.text`, counter: counterFor(text, LIMITS.button) })];
    if (b.type === 'URL') {
      const url = h('input', { id: `tpl-button-${index}-url`, class: 'input', type: 'url', value: b.url, placeholder: 'https://shop.example/track/{{1}}' });
      url.addEventListener('input', () => { b.url = url.value; clearError(url); changed(); });
      parts.push(field('Link', url, { key: `buttons.${index}.url`, hint: 'One variable at most, {{1}}, at the end.' }));
    }
    if (b.type === 'PHONE_NUMBER') {
      const phone = h('input', { id: `tpl-button-${index}-phone`, class: 'input', type: 'tel', value: b.phone_number, placeholder: '+15550001111' });
      phone.addEventListener('input', () => { b.phone_number = phone.value; clearError(phone); changed(); });
      parts.push(field('Phone number', phone, { key: `buttons.${index}.phone_number` }));
    }
    const remove = h('button', { type: 'button', class: 'btn-icon btn-icon-sm', 'aria-label': `Remove button ${index + 1}`, onclick: () => { f.buttons.splice(index, 1); drawButtons(); changed(); } }, icon('close'));
    return h('div', { class: 'button-edit' }, h('div', { class: 'button-fields' }, parts), remove);
  }));
}

// One example input per variable, keyed like the API ("1", "header.1", "button.0"); the values
// typed survive re-drawing because they live in f.examples, not in the inputs.
function variableSlots() {
  const slots = [];
  if (f.headerType.value === 'TEXT') for (const v of variablesIn(f.headerText.value)) slots.push({ key: `header.${v}`, field: `header.examples.header.${v}`, label: `Header {{${v}}}` });
  for (const v of variablesIn(f.body.value)) slots.push({ key: v, field: `body.examples.${v}`, label: `Body {{${v}}}` });
  f.buttons.forEach((b, index) => {
    if (b.type === 'URL' && variablesIn(b.url).length) slots.push({ key: `button.${index}`, field: `buttons.${index}.example`, label: `Button ${index + 1} link {{1}}` });
  });
  return slots;
}

function drawExamples() {
  const slots = variableSlots();
  const signature = slots.map((s) => s.key).join('|');
  if (signature === f.examplesSignature) return;
  f.examplesSignature = signature;
  for (const key of [...f.fields.keys()]) if (key.includes('examples') || (key.startsWith('buttons.') && key.endsWith('.example'))) f.fields.delete(key);
  if (!slots.length) {
    fill(f.examplesEl, h('p', { class: 'muted empty-note' }, 'No variables yet. Add one to the body with "Add variable", or type {{1}}.'));
    return;
  }
  fill(f.examplesEl, h('div', { class: 'form-grid' }, slots.map((slot) => {
    const id = `tpl-example-${slot.key.replace(/[^\w]/g, '-')}`;
    const input = h('input', { id, class: 'input', value: f.examples.get(slot.key) || '', autocomplete: 'off', placeholder: 'Sample value', 'data-testid': `tpl-example-${slot.key}` });
    input.addEventListener('input', () => { f.examples.set(slot.key, input.value); clearError(input); schedulePreview(); });
    return field(slot.label, input, { key: slot.field });
  })));
}

function changed() {
  const type = f.headerType.value;
  f.headerTextField.hidden = type !== 'TEXT';
  f.headerMediaField.hidden = !['IMAGE', 'VIDEO', 'DOCUMENT'].includes(type);
  drawExamples();
  schedulePreview();
}

function draft() {
  const d = {
    name: f.name.value.trim(),
    category: f.category.querySelector('input:checked').value,
    language: f.language.value,
    header: null,
    body: { text: f.body.value, examples: {} },
    footer: f.footer.value.trim() ? { text: f.footer.value } : null,
    buttons: f.buttons.map((b) => {
      if (b.type === 'URL') return { type: 'URL', text: b.text, url: b.url, example: (f.examples.get(`button.${f.buttons.indexOf(b)}`) || '').trim() || null };
      if (b.type === 'PHONE_NUMBER') return { type: 'PHONE_NUMBER', text: b.text, phone_number: b.phone_number };
      return { type: 'QUICK_REPLY', text: b.text };
    }),
  };
  if (f.wabas.length > 1) d.waba_id = f.waba.value;
  const type = f.headerType.value;
  if (type === 'TEXT') d.header = { format: 'TEXT', text: f.headerText.value, examples: {} };
  else if (type) d.header = { format: type, example: f.headerMedia.value.trim() || null };
  for (const slot of variableSlots()) {
    const value = (f.examples.get(slot.key) || '').trim();
    if (!value) continue;
    if (slot.key.startsWith('header.')) d.header.examples[slot.key] = value;
    else if (!slot.key.startsWith('button.')) d.body.examples[slot.key] = value;
  }
  return d;
}

function schedulePreview() {
  clearTimeout(f.previewTimer);
  f.previewTimer = setTimeout(drawPreview, PREVIEW_DEBOUNCE_MS);
}

async function drawPreview() {
  if (!f) return;
  const request = ++f.previewRequest;
  const current = f;
  const d = draft();
  if (!d.body.text.trim()) {
    renderPreview(f.previewEl, { body: { text: 'Your message appears here as the customer will see it.', spans: [] }, buttons: [] });
    f.previewEl.classList.add('is-placeholder');
    f.previewNote.textContent = '';
    return;
  }
  try {
    const preview = await api.previewTemplate(d);
    if (current !== f || request !== f.previewRequest) return;
    f.previewEl.classList.remove('is-placeholder');
    renderPreview(f.previewEl, preview);
    f.previewNote.textContent = preview.missing && preview.missing.length
      ? `Without an example: ${preview.missing.map((k) => `{{${k}}}`).join(', ')}` : 'Rendered with the sample values, as WhatsApp shows it.';
  } catch (err) {
    if (current === f && request === f.previewRequest && err.status !== 401) f.previewNote.textContent = `Preview paused: ${err.detail}`;
  }
}

function showFieldError(key, message) {
  const entry = f.fields.get(key)
    || f.fields.get(key.replace(/\.examples\..*$/, '.text'))
    || (key.startsWith('buttons') ? f.fields.get('buttons') : null);
  if (!entry) return false;
  entry.error.textContent = message;
  entry.error.hidden = false;
  const target = entry.input || document.getElementById('tpl-buttons');
  if (entry.input) entry.input.setAttribute('aria-invalid', 'true');
  target?.focus();
  target?.scrollIntoView({ block: 'center', behavior: 'smooth' });
  return true;
}

async function send() {
  if (f.busy || f.blocked) return;
  for (const entry of f.fields.values()) { entry.error.hidden = true; entry.input?.removeAttribute('aria-invalid'); }
  f.formError.hidden = true;
  const d = draft();
  if (!d.name) { showFieldError('name', 'Give the template a name.'); return; }
  if (!d.body.text.trim()) { showFieldError('body.text', 'Write the message body.'); return; }
  f.busy = true;
  f.submit.disabled = true;
  f.submit.textContent = 'Submitting…';
  const current = f;
  try {
    let template;
    if (f.editing) {
      // An edit names neither the template nor its account: they are the URL's.
      const content = { ...d };
      for (const key of ['name', 'language', 'waba_id']) delete content[key];
      template = await api.editTemplate(f.editing.id, content);
      toast(`${template.name} was submitted to WhatsApp for review again`);
    } else {
      template = await api.createTemplate(d);
      toast(`${template.name} was submitted to WhatsApp for review`);
    }
    current.onCreated(template);
  } catch (err) {
    if (current !== f) return;
    if (err.status === 401) return;
    const key = err.field || (err.code === 'template_exists' ? 'name' : null);
    if (!key || !showFieldError(key, err.detail)) {
      fill(f.formError, icon('alert'), h('div', {}, h('strong', {}, err.detail || 'The template could not be submitted.'),
        err.body.meta_code ? h('p', {}, `Meta's code ${err.body.meta_code}`) : null));
      f.formError.hidden = false;
      f.formError.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  } finally {
    if (current === f) {
      f.busy = false;
      f.submit.disabled = false;
      f.submit.textContent = SUBMIT_LABEL[f.editing ? 'edit' : 'create'];
    }
  }
}
