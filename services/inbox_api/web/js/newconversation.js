// "New conversation": pick the business number, type the customer's number, fill an approved
// template of that number's account (live preview), send it with POST /conversations, then
// open the conversation.
import { api, newIdempotencyKey } from './api.js';
import { START_CONVERSATION } from './content.js';
import { fill, h, icon, toast } from './dom.js';
import { customerNumber, formatNumber, templateParts } from './format.js';
import { $, state, templatesOfNumber } from './state.js';
import { loadTemplates } from './threadview.js';

const templateValue = (t) => `${t.name}:${t.language}`;
// The store folds the send into a conversation within moments; wait this long before giving up.
const APPEAR_TRIES = 40;
const APPEAR_EVERY_MS = 500;

let ui = null;
let form = { template: null, values: {}, key: null, busy: false };

export function setupNewConversation() {
  const dialog = $('new-dialog');
  ui = {
    dialog,
    number: $('new-number'),
    numberError: $('new-number-error'),
    from: $('new-from'),
    select: $('new-template'),
    fields: $('new-fields'),
    preview: $('new-preview'),
    error: $('new-error'),
    send: $('new-send'),
  };
  $('new-form').addEventListener('submit', (event) => { event.preventDefault(); submit(); });
  $('new-cancel').addEventListener('click', () => dialog.close());
  ui.number.addEventListener('input', () => { ui.numberError.hidden = true; ui.number.removeAttribute('aria-invalid'); refreshSend(); });
  ui.number.addEventListener('blur', () => { if (ui.number.value.trim()) checkNumber(); });
  ui.select.addEventListener('change', () => pick(form.templates.find((t) => templateValue(t) === ui.select.value) || null));
  // A shared contact's "Start conversation" (content.js): the form with their number filled in.
  document.addEventListener(START_CONVERSATION, (event) => { if (!dialog.open) openNewConversation({ number: event.detail && event.detail.number }); });
}

// ``prefill.number``: the customer's number to start with (a click event passes none).
export async function openNewConversation(prefill) {
  const channels = (state.me && state.me.channels) || [];
  form = { template: null, values: {}, key: newIdempotencyKey(), busy: false, templates: [], allTemplates: null };
  ui.number.value = typeof prefill?.number === 'string' ? prefill.number : '';
  ui.numberError.hidden = true;
  ui.error.hidden = true;
  ui.number.removeAttribute('aria-invalid');
  if (channels.length > 1) {
    fill(ui.from, h('label', { class: 'field-label' }, 'From',
      h('select', { id: 'new-channel', class: 'template-select', 'data-testid': 'new-channel' },
        channels.map((c) => h('option', { value: c.phone_number_id }, (c.display_number || formatNumber(c.display_phone_number)) || c.phone_number_id)))));
    $('new-channel').addEventListener('change', drawTemplates);
  } else if (channels.length === 1) {
    const c = channels[0];
    fill(ui.from, h('p', { class: 'from-line' }, icon('chat'), 'From ', h('strong', {}, (c.display_number || formatNumber(c.display_phone_number)) || c.phone_number_id)));
  } else {
    fill(ui.from, h('p', { class: 'form-error' }, 'Your team has no WhatsApp number yet; an admin adds one.'));
  }
  fill(ui.select, h('option', { value: '' }, 'Loading approved templates…'));
  pick(null);
  ui.dialog.showModal();
  if (ui.number.value) ui.select.focus(); else ui.number.focus();
  try {
    form.allTemplates = await loadTemplates();
    drawTemplates();
  } catch (err) {
    fill(ui.select, h('option', { value: '' }, 'Templates unavailable'));
    showError(err);
  }
}

function fromNumber() {
  const channels = (state.me && state.me.channels) || [];
  if (channels.length > 1) return $('new-channel').value;
  return channels.length ? channels[0].phone_number_id : null;
}

// Only the approved templates of the chosen number's account; a choice still offered is kept.
function drawTemplates() {
  if (!form.allTemplates) return;
  const was = form.template;
  form.templates = templatesOfNumber(form.allTemplates, fromNumber());
  fill(ui.select, h('option', { value: '' }, form.templates.length ? 'Choose a template…' : 'No approved templates for this number'),
    ...form.templates.map((t) => h('option', { value: templateValue(t) },
      [t.name, t.language, t.category && t.category.toLowerCase()].filter(Boolean).join(' · '))));
  const kept = was && form.templates.find((t) => templateValue(t) === templateValue(was));
  ui.select.value = kept ? templateValue(kept) : '';
  if (!kept && was) pick(null);
}

function checkNumber() {
  const ok = customerNumber(ui.number.value) !== null;
  ui.numberError.hidden = ok;
  if (ok) ui.number.removeAttribute('aria-invalid'); else ui.number.setAttribute('aria-invalid', 'true');
  return ok;
}

function pick(template) {
  form.template = template;
  form.values = {};
  if (!template) {
    ui.fields.replaceChildren();
    fill(ui.preview, h('p', { class: 'is-muted' }, 'Pick a template to preview it.'));
    refreshSend();
    return;
  }
  fill(ui.fields, ...(template.parameters || []).map((p) => {
    const input = h('input', { type: 'text', class: 'input', name: p.key, required: true, placeholder: p.example || '', 'data-testid': `new-var-${p.key}`, autocomplete: 'off' });
    input.addEventListener('input', () => { form.values[p.key] = input.value; drawPreview(); });
    return h('label', { class: 'field-label' }, /^\d+$/.test(p.key) ? `Variable {{${p.key}}}` : p.key.replace(/_/g, ' '), input);
  }));
  drawPreview();
}

function drawPreview() {
  const parts = templateParts(form.template.body_text, form.values);
  fill(ui.preview, h('span', { class: 'preview-label' }, 'Preview'),
    h('p', { class: 'preview-bubble' }, parts.map((part) => (part.key
      ? h('mark', { class: part.empty ? 'slot is-empty' : 'slot' }, part.empty ? `{{${part.key}}}` : part.text)
      : part.text))));
  refreshSend();
}

function filled() {
  return Boolean(form.template) && (form.template.parameters || []).every((p) => (form.values[p.key] || '').trim());
}

function refreshSend() {
  const hasNumber = ((state.me && state.me.channels) || []).length > 0;
  ui.send.disabled = form.busy || !hasNumber || !filled() || !ui.number.value.trim();
}

function showError(err) {
  fill(ui.error, icon('alert'), h('div', {}, h('strong', {}, err.detail || 'The template could not be sent.'), err.hint ? h('p', {}, err.hint) : null));
  ui.error.hidden = false;
}

async function submit() {
  if (form.busy || !checkNumber() || !filled()) { if (!checkNumber()) ui.number.focus(); return; }
  const from = fromNumber();
  const template = form.template;
  const variables = {};
  for (const p of template.parameters || []) variables[p.key] = form.values[p.key].trim();
  form.busy = true;
  ui.error.hidden = true;
  ui.send.textContent = 'Sending…';
  refreshSend();
  try {
    const accepted = await api.openConversation({
      business_phone_number_id: from, customer_wa_id: customerNumber(ui.number.value),
      template_name: template.name, language: template.language, variables,
    }, form.key);
    ui.send.textContent = 'Opening the conversation…';
    await appeared(accepted.conversation_id);
    ui.dialog.close();
    location.hash = `#/c/${encodeURIComponent(accepted.conversation_id)}`;
  } catch (err) {
    if (err.status === 422 && err.field === 'customer_wa_id') { ui.numberError.hidden = false; ui.number.focus(); }
    else if (err.status !== 401) showError(err);
  } finally {
    form.busy = false;
    fill(ui.send, icon('send'), 'Send template');
    refreshSend();
  }
}

// The conversation exists once the store folded the send (a new customer has none before).
async function appeared(id) {
  for (let i = 0; i < APPEAR_TRIES; i += 1) {
    try { await api.conversation(id); return; } catch (err) { if (err.status !== 404) throw err; }
    await new Promise((resolve) => { setTimeout(resolve, APPEAR_EVERY_MS); });
  }
  toast('Sent. The conversation shows up in the list in a moment.');
}
