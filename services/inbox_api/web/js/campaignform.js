// "New campaign" (#/campaigns/new): name, business number, approved template, an audience CSV
// read in the browser and sent as text/csv, and an optional time-zone-aware schedule. The
// campaign is created as a draft, the CSV uploaded, the schedule set; its page shows the rows
// the server refused and starts it (docs/campaigns.md).
import { api, newIdempotencyKey } from './api.js';
import { fill, h, icon } from './dom.js';
import { formatNumber } from './format.js';
import { isAdmin } from './roles.js';
import { state, templatesOfNumber } from './state.js';

let f = null;

export function closeCampaignForm() { f = null; }

const templateValue = (t) => `${t.name}:${t.language}`;

export function timeZones() {
  const here = browserZone();
  let zones = [];
  try { zones = Intl.supportedValuesOf('timeZone'); } catch { zones = []; }
  return [...new Set([here, 'UTC', ...zones])].sort((a, b) => (a === here ? -1 : b === here ? 1 : a.localeCompare(b)));
}

export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

// The next whole hour, as <input type="datetime-local"> writes it ("2026-12-01T09:00").
export function nextHour(now = new Date()) {
  const d = new Date(now.getTime() + 60 * 60 * 1000);
  d.setMinutes(0, 0, 0);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:00`;
}

// The time, the zone and what a person reads: "Dec 1, 09:00 (Europe/Berlin)".
export function scheduleInputs() {
  const at = h('input', { type: 'datetime-local', class: 'input', value: nextHour(), 'data-testid': 'schedule-at', 'aria-label': 'Send at (local time)' });
  const zone = h('select', { class: 'select', 'data-testid': 'schedule-zone', 'aria-label': 'Time zone' },
    timeZones().map((z) => h('option', { value: z }, z.replace(/_/g, ' '))));
  zone.value = browserZone();
  return { at, zone };
}

// A CSV file, read here and counted; the server reads it properly (quotes, separators).
export async function readCsv(file) {
  const text = await file.text();
  const lines = text.split(/\r?\n/).filter((line) => line.trim());
  return { name: file.name, size: file.size, text, rows: Math.max(0, lines.length - 1), header: lines[0] || '' };
}

export function sampleCsv(template) {
  const params = (template && template.parameters) || [];
  const header = ['phone', ...params.map((p) => p.key)];
  const row = (phone, n) => [phone, ...params.map((p) => p.example || `value ${n}`)];
  const quote = (v) => (/[",\n]/.test(v) ? `"${String(v).replace(/"/g, '""')}"` : v);
  return [header, row('+15550100001', 1), row('+15550100002', 2)].map((r) => r.map(quote).join(',')).join('\n') + '\n';
}

// What an upload did: accepted, rejected and duplicate rows; with `errors`, each refused row
// with its reason (the campaign's page lists the kept ones of every upload instead).
export function audienceResult(result, { errors = true } = {}) {
  return h('div', { class: 'audience-result', 'data-testid': 'audience-result' },
    h('div', { class: 'stat-line' },
      h('span', { class: 'stat-pill ok', 'data-testid': 'audience-accepted' }, icon('check'), `${result.accepted} added`),
      result.rejected ? h('span', { class: 'stat-pill bad', 'data-testid': 'audience-rejected' }, icon('alert'), `${result.rejected} rejected`) : null,
      result.duplicates ? h('span', { class: 'stat-pill muted' }, `${result.duplicates} duplicate${result.duplicates === 1 ? '' : 's'}`) : null,
      h('span', { class: 'muted' }, `${result.total_recipients} recipient${result.total_recipients === 1 ? '' : 's'} in the campaign`)),
    (result.ignored_columns || []).length ? h('p', { class: 'field-hint' }, `Ignored columns (the template does not use them): ${result.ignored_columns.join(', ')}`) : null,
    errors ? errorTable(result.errors || [], false) : null,
    errors && result.errors_truncated ? h('p', { class: 'field-hint' }, 'Only the first 1,000 problems are listed.') : null);
}

// The campaign's own record of its uploads (GET /campaigns/{id}: it survives a reload).
export function audienceHistory(campaign) {
  const a = campaign.audience || {};
  const recipients = (campaign.counters && campaign.counters.recipients) || 0;
  return h('div', { class: 'audience-result', 'data-testid': 'audience-history' },
    h('div', { class: 'stat-line' },
      h('span', { class: 'stat-pill ok' }, icon('check'), `${recipients.toLocaleString()} recipient${recipients === 1 ? '' : 's'}`),
      a.rejected_rows ? h('span', { class: 'stat-pill bad', 'data-testid': 'audience-rejected' }, icon('alert'), `${a.rejected_rows.toLocaleString()} rejected`) : null,
      a.duplicates ? h('span', { class: 'stat-pill muted' }, `${a.duplicates.toLocaleString()} duplicate${a.duplicates === 1 ? '' : 's'}`) : null,
      a.uploads > 1 ? h('span', { class: 'muted' }, `from ${a.uploads} uploads`) : null));
}

// The rows refused over all uploads, as the campaign keeps them (the first 1,000).
export function audienceErrors(campaign) {
  const a = campaign.audience || {};
  const errors = a.errors || [];
  if (!errors.length) return null;
  return h('div', {},
    errorTable(errors, (a.uploads || 0) > 1),
    (a.errors_total || 0) > errors.length ? h('p', { class: 'field-hint' }, `The first ${errors.length.toLocaleString()} of ${a.errors_total.toLocaleString()} problems are listed.`) : null);
}

function errorTable(errors, withUpload) {
  if (!errors.length) return null;
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'audience-errors' },
    h('caption', { class: 'sr-only' }, 'Rows that were not added'),
    h('thead', {}, h('tr', {}, withUpload ? h('th', { scope: 'col' }, 'Upload') : null, h('th', { scope: 'col' }, 'Row'), h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'Problem'))),
    h('tbody', {}, errors.map((e) => h('tr', { 'data-testid': 'audience-error' },
      withUpload ? h('td', { class: 'num' }, String(e.upload || 1)) : null,
      h('td', { class: 'num' }, String(e.row)), h('td', {}, e.column ? h('code', {}, e.column) : '—'), h('td', {}, e.message))))));
}

export async function openCampaignForm(el, { onCreated }) {
  if (!isAdmin()) {
    // An agent who followed a link here: the API would refuse the campaign (403 admin_only).
    fill(el, h('div', { class: 'page-inner' }, h('a', { class: 'crumb', href: '#/campaigns' }, icon('back'), 'Campaigns'),
      h('div', { class: 'rows-empty', 'data-testid': 'campaign-admin-only' }, icon('lock'), h('strong', {}, 'Only admins can create campaigns'),
        h('span', { class: 'muted' }, 'Ask an admin of your team; you can follow every campaign\'s progress here.'))));
    return;
  }
  const channels = (state.me && state.me.channels) || [];
  f = { key: newIdempotencyKey(), csv: null, templates: [], allTemplates: null, busy: false, onCreated };
  const name = h('input', { id: 'cmp-name', class: 'input', autocomplete: 'off', placeholder: 'December order follow-up', 'data-testid': 'campaign-name' });
  const from = h('select', { id: 'cmp-from', class: 'select', 'data-testid': 'campaign-from' },
    channels.map((c) => h('option', { value: c.phone_number_id }, (c.display_number || formatNumber(c.display_phone_number)) || c.phone_number_id)));
  const template = h('select', { id: 'cmp-template', class: 'select', 'data-testid': 'campaign-template' }, h('option', { value: '' }, 'Loading approved templates…'));
  const needs = h('div', { class: 'needs' });
  const file = h('input', { id: 'cmp-csv', type: 'file', accept: '.csv,text/csv,text/plain', class: 'file-input', 'data-testid': 'campaign-csv' });
  const fileInfo = h('span', { class: 'drop-text' }, h('strong', {}, 'Choose a CSV file'), ' or drop it here');
  const drop = h('label', { class: 'drop', for: 'cmp-csv' }, icon('upload'), fileInfo);
  const when = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'When' },
    [['now', 'Start from its page'], ['later', 'Schedule']].map(([value, label]) => h('label', {},
      h('input', { type: 'radio', name: 'cmp-when', value, checked: value === 'now', 'data-testid': `campaign-when-${value}` }), h('span', {}, label))));
  const schedule = scheduleInputs();
  const scheduleRow = h('div', { class: 'form-grid', hidden: true },
    h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Date and time'), schedule.at),
    h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Time zone'), schedule.zone));
  const errors = Object.fromEntries(['name', 'from', 'template', 'csv', 'schedule'].map((k) => [k, h('p', { class: 'field-error', role: 'alert', hidden: true, 'data-testid': `campaign-error-${k}` })]));
  const formError = h('div', { class: 'composer-error', role: 'alert', hidden: true, 'data-testid': 'campaign-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'campaign-create' }, 'Create campaign');
  Object.assign(f, { name, from, template, needs, file, fileInfo, drop, when, schedule, scheduleRow, errors, formError, submit });

  const form = h('form', { class: 'card form-card', novalidate: true, 'data-testid': 'campaign-form', onsubmit: (event) => { event.preventDefault(); create(); } },
    h('section', { class: 'form-section' },
      h('h2', {}, 'Campaign'),
      h('div', { class: 'field' }, h('label', { class: 'field-label', for: 'cmp-name' }, 'Name'), name, h('p', { class: 'field-hint' }, 'For your team; customers never see it.'), errors.name),
      h('div', { class: 'form-grid' },
        h('div', { class: 'field' }, h('label', { class: 'field-label', for: 'cmp-from' }, 'From'), channels.length ? from : h('p', { class: 'form-error' }, 'Your team has no WhatsApp number yet.'), errors.from),
        h('div', { class: 'field' }, h('label', { class: 'field-label', for: 'cmp-template' }, 'Approved template'), template, errors.template)),
      needs),
    h('section', { class: 'form-section' },
      h('h2', {}, 'Audience'),
      h('p', { class: 'field-hint' }, 'One row per customer: a phone column with the country code, and one column per template variable. Bad rows are reported; the others still go.'),
      file, drop, errors.csv),
    h('section', { class: 'form-section' },
      h('h2', {}, 'When'),
      when, scheduleRow, errors.schedule),
    formError,
    h('div', { class: 'form-actions' }, h('a', { class: 'btn btn-ghost', href: '#/campaigns' }, 'Cancel'), submit));

  fill(el, h('div', { class: 'page-inner page-narrow' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-title' },
        h('a', { class: 'crumb', href: '#/campaigns' }, icon('back'), 'Campaigns'),
        h('h1', { tabindex: '-1' }, 'New campaign'))),
    form));

  when.addEventListener('change', () => { scheduleRow.hidden = when.querySelector('input:checked').value !== 'later'; });
  template.addEventListener('change', () => { errors.template.hidden = true; drawNeeds(); });
  from.addEventListener('change', () => { errors.from.hidden = true; drawTemplates(); });
  name.addEventListener('input', () => { errors.name.hidden = true; });
  file.addEventListener('change', () => takeFile(file.files[0]));
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('is-over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('is-over'));
  drop.addEventListener('drop', (event) => { event.preventDefault(); drop.classList.remove('is-over'); takeFile(event.dataTransfer.files[0]); });
  name.focus();
  const current = f;
  try {
    const answer = await api.templates();
    if (current !== f) return;
    f.allTemplates = answer.items;
    drawTemplates();
  } catch (err) {
    if (current === f) fill(template, h('option', { value: '' }, `Templates unavailable: ${err.detail}`));
  }
  drawNeeds();
}

// The approved templates of the chosen number's account; a choice still offered is kept.
function drawTemplates() {
  if (!f.allTemplates) return;
  const was = f.template.value;
  f.templates = templatesOfNumber(f.allTemplates, f.from.value);
  fill(f.template, h('option', { value: '' }, f.templates.length ? 'Choose a template…' : 'No approved templates for this number yet'),
    f.templates.map((t) => h('option', { value: templateValue(t) }, [t.name, t.language, t.category && t.category.toLowerCase()].filter(Boolean).join(' · '))));
  f.template.value = f.templates.some((t) => templateValue(t) === was) ? was : '';
  drawNeeds();
}

function chosenTemplate() {
  return f.templates.find((t) => templateValue(t) === f.template.value) || null;
}

function drawNeeds() {
  const t = chosenTemplate();
  if (!t) { fill(f.needs); return; }
  const columns = ['phone', ...(t.parameters || []).map((p) => p.key)];
  const blob = new Blob([sampleCsv(t)], { type: 'text/csv' });
  fill(f.needs, h('div', { class: 'needs-box' },
    h('p', { class: 'preview-bubble' }, t.body_text || t.name),
    h('p', {}, 'Columns: ', columns.map((c, i) => [i ? ' ' : '', h('code', {}, c)]),
      ' · ', h('a', { href: URL.createObjectURL(blob), download: `${t.name}-audience.csv` }, icon('download'), 'Sample CSV'))));
}

async function takeFile(file) {
  f.errors.csv.hidden = true;
  if (!file) return;
  try {
    f.csv = await readCsv(file);
    fill(f.fileInfo, h('strong', { 'data-testid': 'campaign-csv-name' }, f.csv.name),
      ` · ${f.csv.rows.toLocaleString()} row${f.csv.rows === 1 ? '' : 's'} · `, h('span', { class: 'link' }, 'choose another'));
    f.drop.classList.add('has-file');
  } catch {
    f.csv = null;
    showError('csv', 'That file could not be read.');
  }
}

function showError(key, message) {
  f.errors[key].textContent = message;
  f.errors[key].hidden = false;
}

async function create() {
  if (f.busy) return;
  for (const el of Object.values(f.errors)) el.hidden = true;
  f.formError.hidden = true;
  const t = chosenTemplate();
  let ok = true;
  if (!f.name.value.trim()) { showError('name', 'Give the campaign a name.'); ok = false; }
  if (!f.from.value) { showError('from', 'Pick the number to send from.'); ok = false; }
  if (!t) { showError('template', 'Pick an approved template.'); ok = false; }
  if (!f.csv) { showError('csv', 'Choose the audience CSV.'); ok = false; } else if (!f.csv.rows) { showError('csv', 'That file has no rows under its header.'); ok = false; }
  const later = f.when.querySelector('input:checked').value === 'later';
  if (later && !f.schedule.at.value) { showError('schedule', 'Pick a date and time.'); ok = false; }
  if (!ok) { document.querySelector('.form-card .field-error:not([hidden])')?.closest('.field, .form-section')?.querySelector('input, select')?.focus(); return; }
  const current = f;
  f.busy = true;
  f.submit.disabled = true;
  const step = (text) => { current.submit.textContent = text; };
  let campaign = null;
  let audience = null;
  try {
    step('Creating…');
    const created = await api.createCampaign({ name: f.name.value.trim(), business_phone_number_id: f.from.value, template_name: t.name, language: t.language }, f.key);
    campaign = created.campaign;
    step(`Uploading ${f.csv.rows.toLocaleString()} rows…`);
    audience = await api.uploadAudience(campaign.id, f.csv.text);
    if (later && audience.total_recipients > 0) {
      step('Scheduling…');
      campaign = await api.scheduleCampaign(campaign.id, { at: f.schedule.at.value, time_zone: f.schedule.zone.value });
    }
    current.onCreated(campaign, audience, null);
  } catch (err) {
    if (err.status === 401) return;
    if (campaign) { current.onCreated(campaign, audience, err); return; } // the draft exists: its page says what is left
    if (current !== f) return;
    const field = { name: 'name', business_phone_number_id: 'from', template_name: 'template', language: 'template' }[err.field];
    if (field) showError(field, err.detail);
    else if (err.code === 'template_not_found' || err.code === 'template_not_approved') showError('template', err.detail);
    else if (err.code === 'channel_not_found') showError('from', err.detail);
    else { fill(f.formError, icon('alert'), h('div', {}, h('strong', {}, err.detail))); f.formError.hidden = false; }
  } finally {
    if (current === f) { f.busy = false; f.submit.disabled = false; f.submit.textContent = 'Create campaign'; }
  }
}
