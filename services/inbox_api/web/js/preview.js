// A template as WhatsApp shows it, from the API's Preview (POST /templates/preview): header, body
// with its *bold* _italic_ ~strike~ ```mono``` spans, footer, and the buttons under the bubble.
import { fill, h, icon } from './dom.js';

const MEDIA = { IMAGE: ['image', 'Image'], VIDEO: ['play', 'Video'], DOCUMENT: ['file', 'Document'], LOCATION: ['pin', 'Location'] };
const BUTTON_ICON = { URL: 'link', PHONE_NUMBER: 'phone', QUICK_REPLY: 'reply' };

// The variables in a piece of template text, in order of first appearance: "1", "first_name".
export function variablesIn(text) {
  const names = [];
  for (const match of String(text || '').matchAll(/\{\{\s*([^{}]*?)\s*\}\}/g)) {
    if (match[1] && !names.includes(match[1])) names.push(match[1]);
  }
  return names;
}

function spans(list, fallback) {
  if (!list || !list.length) return fallback || '';
  return list.map((s) => {
    const classes = [s.bold && 'wa-b', s.italic && 'wa-i', s.strike && 'wa-s', s.mono && 'wa-mono'].filter(Boolean).join(' ');
    return classes ? h('span', { class: classes }, s.text) : s.text;
  });
}

export function renderPreview(el, preview, { time = '12:00' } = {}) {
  if (!preview) { fill(el); return el; }
  const header = preview.header;
  let headerEl = null;
  if (header && header.format === 'TEXT') {
    headerEl = h('p', { class: 'wa-header' }, spans(header.spans, header.text));
  } else if (header) {
    const [name, label] = MEDIA[header.format] || ['file', header.format];
    headerEl = h('div', { class: 'wa-media' }, icon(name), h('span', {}, label));
  }
  const bubble = h('div', { class: 'wa-bubble', 'data-testid': 'wa-preview-bubble' },
    headerEl,
    h('p', { class: 'wa-body' }, spans(preview.body && preview.body.spans, preview.body && preview.body.text)),
    preview.footer && preview.footer.text ? h('p', { class: 'wa-footer' }, preview.footer.text) : null,
    h('span', { class: 'wa-time' }, time));
  const buttons = (preview.buttons || []).map((b) =>
    h('span', { class: 'wa-button', title: b.url || b.phone_number || '' }, icon(BUTTON_ICON[b.type] || 'reply'), b.text || 'Button'));
  fill(el, h('div', { class: 'wa-message' }, bubble, buttons.length ? h('div', { class: 'wa-buttons' }, buttons) : null));
  return el;
}
