// Private notes: the composer's note mode, notes placed among the thread's messages (yellow,
// never sent to the customer), and the caller's mention marker.
import { api } from './api.js';
import { fill, h, icon } from './dom.js';
import { state } from './state.js';

const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

// The conversation's notes (GET .../notes), and its mention marker cleared: the caller opened it.
export async function loadNotes(conversation) {
  const answer = await api.notes(conversation.id);
  if (conversation.mentions_unread) api.readMentions(conversation.id).catch(() => {});
  return answer.items;
}

function noteNode(note) {
  const text = h('div', { class: 'note-text' });
  // @mentions highlighted: the names the server recognised.
  const names = note.mentions.map((m) => `@${m.display_name}`).concat(note.mentions.map((m) => `@${m.id}`));
  let rest = note.text;
  while (rest) {
    const hits = names.map((n) => [rest.toLowerCase().indexOf(n.toLowerCase()), n]).filter(([i]) => i >= 0).sort((a, b) => a[0] - b[0] || b[1].length - a[1].length);
    if (!hits.length) { text.append(rest); break; }
    const [at, name] = hits[0];
    text.append(rest.slice(0, at), h('span', { class: 'mention' }, rest.slice(at, at + name.length)));
    rest = rest.slice(at + name.length);
  }
  return h('li', { class: 'msg note', 'data-testid': 'note', dataset: { noteId: note.id } },
    h('div', { class: 'note-bubble' },
      h('div', { class: 'note-head' }, icon('lock'), h('strong', {}, note.author_name), ' · private note'),
      text,
      h('time', { class: 'note-time', datetime: note.created_at }, time(note.created_at))));
}

// Notes among the messages by time (after renderMessages, which drops what it does not know).
export function placeNotes(listEl, notes, messages) {
  for (const node of listEl.querySelectorAll(':scope > li.note')) node.remove();
  const times = new Map(messages.map((m) => [String(m.id), m.sent_at ? Date.parse(m.sent_at) : 0]));
  const nodes = [...listEl.querySelectorAll(':scope > li.msg[data-id]')];
  const pending = listEl.querySelector(':scope > li.is-pending');
  for (const note of notes) {
    const at = Date.parse(note.created_at);
    const next = nodes.find((n) => (times.get(n.dataset.id) || 0) > at);
    listEl.insertBefore(noteNode(note), next || pending || null);
  }
}

// The composer's "Note" switch (composer.noteMode).
export function noteToggle(composer) {
  const on = composer.noteMode;
  return h('button', { type: 'button', class: `btn-icon btn-note${on ? ' is-on' : ''}`, 'aria-pressed': String(on), 'data-testid': 'note-toggle',
    title: on ? 'Back to a reply to the customer' : 'Write a private note (agents only)',
    onclick: () => { composer.noteMode = !on; composer.render(); composer.el.querySelector('textarea')?.focus(); } },
  icon('lock'), h('span', { class: 'btn-text' }, 'Note'));
}

// The note form: what is written here is never sent to the customer.
export function noteForm(composer) {
  const textarea = h('textarea', { class: 'composer-input note-input', rows: 2, placeholder: 'Private note: only your team sees it. @name mentions a colleague.',
    'aria-label': 'Private note', 'data-testid': 'note-input', maxlength: 4096 });
  const submit = async () => {
    const text = textarea.value.trim();
    if (!text || composer.busy) return;
    composer.busy = true;
    composer.clearError();
    try {
      await composer.addNote(composer.conversation, text);
      textarea.value = '';
    } catch (error) {
      composer.showError(error);
    } finally {
      composer.busy = false;
    }
  };
  const suggest = mentionSuggestions(textarea);
  textarea.addEventListener('keydown', (event) => {
    if (suggest.key(event)) return;
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
  });
  const form = h('form', { class: 'composer-form note-form', onsubmit: (event) => { event.preventDefault(); submit(); } },
    noteToggle(composer), textarea,
    h('button', { type: 'submit', class: 'btn btn-note-send', 'data-testid': 'note-send' }, 'Add note'));
  return fill(h('div', { class: 'note-composer' }), suggest.el, form);
}

// "@be" offers the agents whose name or id starts so; Enter or Tab (or a click) writes "@Name ".
function mentionSuggestions(textarea) {
  const el = h('ul', { class: 'mention-list', role: 'listbox', 'aria-label': 'Mention a colleague', hidden: true, 'data-testid': 'mention-list' });
  let options = [];
  let active = 0;
  const typed = () => /(?:^|[\s(])@([\w.-]*)$/.exec(textarea.value.slice(0, textarea.selectionStart));
  const pick = (name) => {
    const match = typed();
    if (!match) return;
    const end = textarea.selectionStart;
    const start = end - match[1].length;
    textarea.value = `${textarea.value.slice(0, start)}${name} ${textarea.value.slice(end)}`;
    textarea.selectionStart = textarea.selectionEnd = start + name.length + 1;
    close();
    textarea.focus();
  };
  const close = () => { el.hidden = true; options = []; };
  const draw = () => {
    fill(el, options.map(([id, name], i) => h('li', { role: 'option', 'aria-selected': String(i === active), class: i === active ? 'is-active' : null, 'data-testid': 'mention-option',
      onmousedown: (event) => { event.preventDefault(); pick(name); } }, name, h('small', {}, ` @${id}`))));
    el.hidden = !options.length;
  };
  textarea.addEventListener('input', () => {
    const match = typed();
    if (!match) { close(); return; }
    const word = match[1].toLowerCase();
    options = [...state.agents].filter(([id, name]) => !(state.me && id === state.me.agent_id)
      && (id.toLowerCase().startsWith(word) || name.toLowerCase().split(/\s+/).some((w) => w.startsWith(word)))).slice(0, 6);
    active = 0;
    draw();
  });
  textarea.addEventListener('blur', close);
  const key = (event) => {
    if (el.hidden || !options.length) return false;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      active = (active + (event.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
      draw();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      pick(options[active][1]);
    } else if (event.key === 'Escape') {
      close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  };
  return { el, key };
}

// The list's marker: you were mentioned in a note you have not seen.
export function mentionBadge(conversation) {
  const n = conversation.mentions_unread || 0;
  return n ? h('span', { class: 'tag tag-mention', 'data-testid': 'mention-badge', title: `You were mentioned in ${n} note${n > 1 ? 's' : ''}` }, n > 1 ? `@ ${n} mentions` : '@ mentioned') : null;
}
