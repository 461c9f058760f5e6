// The address bar (#/c/<id>), keyboard shortcuts, and the clocks that tick.
import { listTime, windowState } from './format.js';
import { $, selected, state } from './state.js';
import { moveSelection } from './conversations.js';
import { openNewConversation } from './newconversation.js';
import { closeMenu } from './session.js';
import { parsePage, showPage } from './pages.js';
import { closeConversation, composer, openConversation } from './threadview.js';

export function tick() {
  const now = new Date();
  for (const el of document.querySelectorAll('[data-reltime]')) {
    if (el.dataset.reltime) el.textContent = listTime(el.dataset.reltime, now);
  }
  for (const el of document.querySelectorAll('.window-chip[data-window]')) {
    const w = windowState(JSON.parse(el.dataset.window), now);
    el.className = `window-chip window-${w.state}`;
    el.title = w.long;
    el.lastChild.textContent = el.dataset.long ? w.long : w.short;
  }
  const c = selected();
  if (c && composer) composer.update(c);
}

// ---------------------------------------------------------------- routing and keys

export function route() {
  const page = parsePage(location.hash);
  showPage(page);
  if (page.name !== 'inbox') return;
  const match = location.hash.match(/^#\/c\/(.+)$/);
  if (match) {
    const id = decodeURIComponent(match[1]);
    if (id !== state.selectedId) openConversation(id);
  } else if (state.selectedId) {
    closeConversation();
  }
}

export function typing(target) {
  return target.closest('input, textarea, select, [contenteditable="true"]');
}

export function onKey(event) {
  if ($('app').hidden || $('confirm').open || $('new-dialog').open) return;
  // The single-key shortcuts belong to the inbox; the other sections are forms and tables.
  if ($('app').dataset.page !== 'inbox') return;
  if (event.key === 'Escape') {
    if (!$('account-menu').hidden) { closeMenu(); $('account-button').focus(); return; }
    if (event.target === $('search') && state.q) return;
    if (state.selectedId && !typing(event.target)) {
      const id = state.selectedId;
      location.hash = '';
      requestAnimationFrame(() => $('conversation-list').querySelector(`li[data-id="${CSS.escape(id)}"] a`)?.focus());
    }
    return;
  }
  if (typing(event.target) || event.metaKey || event.ctrlKey || event.altKey) return;
  const inList = event.target.closest('.conv-list');
  if (event.key === 'j' || (inList && event.key === 'ArrowDown')) { event.preventDefault(); moveSelection(1); }
  else if (event.key === 'k' || (inList && event.key === 'ArrowUp')) { event.preventDefault(); moveSelection(-1); }
  else if (event.key === '/') { event.preventDefault(); $('search').focus(); $('search').select(); }
  else if (event.key === 'r' && state.selectedId) { event.preventDefault(); composer.focus(); }
  else if (event.key === 'n') { event.preventDefault(); openNewConversation(); }
}
