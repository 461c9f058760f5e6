// Canned replies in the composer (docs/inbox-api.md, "Canned replies"): typing "/" at the start
// of a line lists the tenant's replies whose shortcut starts with what follows; choosing one
// puts its text, filled with the contact's details, in the composer to edit (never sent by
// itself).
import { api } from './api.js';
import { fill, h, toast } from './dom.js';

const TRIGGER = /(?:^|\n)\/([a-z0-9_-]{0,32})$/i;
let ids = 0;

// Wires the picker to a composer's textarea; returns the list element to place beside it.
// Call before the composer's own keydown handler: an open list takes Enter, Tab and Escape.
export function cannedPicker(textarea, conversation) {
  const listId = `canned-list-${++ids}`;
  const list = h('ul', { class: 'canned-list', id: listId, role: 'listbox', 'aria-label': 'Canned replies', hidden: true, 'data-testid': 'canned-list' });
  const picker = { items: [], active: 0, request: 0, token: null };
  textarea.setAttribute('aria-controls', listId);
  textarea.setAttribute('aria-autocomplete', 'list');

  const close = () => {
    list.hidden = true;
    picker.items = [];
    picker.token = null;
    textarea.setAttribute('aria-expanded', 'false');
    textarea.removeAttribute('aria-activedescendant');
  };
  const draw = () => {
    fill(list, picker.items.map((reply, index) => h('li', {
      id: `${listId}-${index}`, role: 'option', class: 'canned-item', 'aria-selected': String(index === picker.active), 'data-testid': 'canned-item',
      onmousedown: (event) => { event.preventDefault(); choose(index); },
    }, h('span', { class: 'canned-shortcut' }, `/${reply.shortcut}`), h('span', { class: 'canned-title' }, reply.title),
    h('span', { class: 'canned-text muted' }, reply.text))));
    list.hidden = picker.items.length === 0;
    textarea.setAttribute('aria-expanded', String(!list.hidden));
    if (!list.hidden) textarea.setAttribute('aria-activedescendant', `${listId}-${picker.active}`);
  };
  const lookup = async () => {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = before.match(TRIGGER);
    if (!match || textarea.selectionStart !== textarea.selectionEnd) { close(); return; }
    const request = ++picker.request;
    try {
      const answer = await api.cannedReplies(match[1]);
      if (request !== picker.request) return;
      picker.items = answer.items.slice(0, 8);
      picker.active = 0;
      picker.token = { start: before.length - match[1].length - 1, end: before.length };
      draw();
    } catch (err) {
      if (err.status !== 401) toast(err.detail, 'error');
      close();
    }
  };
  const choose = async (index) => {
    const reply = picker.items[index];
    const token = picker.token;
    close();
    if (!reply || !token) return;
    const c = conversation();
    let text = reply.text;
    try {
      const rendered = await api.renderCanned(reply.id, c ? c.id : '');
      text = rendered.text;
      if (rendered.missing.length) toast(`Fill in by hand: ${rendered.missing.join(', ')}`);
    } catch (err) {
      toast(err.detail, 'error');
      return;
    }
    // Only if the shortcut is still where it was (the agent may have typed on meanwhile).
    if (!textarea.value.slice(token.start, token.end).startsWith('/')) return;
    textarea.value = textarea.value.slice(0, token.start) + text + textarea.value.slice(token.end);
    const caret = token.start + text.length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  };

  textarea.addEventListener('input', lookup);
  textarea.addEventListener('blur', () => setTimeout(close, 150));
  textarea.addEventListener('keydown', (event) => {
    if (list.hidden) return;
    const move = { ArrowDown: 1, ArrowUp: -1 }[event.key];
    if (move) {
      picker.active = (picker.active + move + picker.items.length) % picker.items.length;
      draw();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      choose(picker.active);
    } else if (event.key === 'Escape') {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  });
  return list;
}
