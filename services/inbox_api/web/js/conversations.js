// The conversation list: loading, filtering, keyset paging, live upserts, j/k selection.
import { api } from './api.js';
import { fill, h, icon, toast } from './dom.js';
import { renderList, skeletonList } from './list.js';
import { $, agentName, state } from './state.js';

export function sortKey(c) { return c.last_activity_at || ''; }
export function compare(a, b) {
  const ka = sortKey(a);
  const kb = sortKey(b);
  if (ka !== kb) {
    if (!ka) return 1;
    if (!kb) return -1;
    return ka < kb ? 1 : -1;
  }
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function matchesFilter(c) {
  if (c.merged_into) return false; // merged into the same customer's other conversation
  if (state.label && !(c.labels || []).some((l) => l.id === state.label)) return false;
  switch (state.filter) {
    case 'open': return c.status === 'open';
    case 'resolved': return c.status === 'resolved';
    case 'unread': return c.unread_count > 0;
    case 'mine': return Boolean(state.me) && c.assignee_id === state.me.agent_id;
    case 'unassigned': return !c.assignee_id;
    default: return state.filter.startsWith('team:') ? c.assignee_id === state.filter : true;
  }
}

export function renderConversations() {
  renderList($('conversation-list'), state.conversations, { selectedId: state.selectedId, me: state.me, agentName });
  $('load-more').hidden = !state.nextCursor;
  const empty = $('list-empty');
  const none = !state.listLoading && state.conversations.length === 0;
  empty.hidden = !none;
  if (none) {
    const searching = Boolean(state.q);
    fill(empty, icon(searching ? 'search' : 'chat'),
      h('strong', {}, searching ? `Nothing matches “${state.q}”` : 'No conversations here'),
      h('span', { class: 'muted' }, searching ? 'Search looks at contact names, numbers and message text.'
        : state.filter === 'all' ? 'When a customer writes to your WhatsApp number, the conversation appears here.' : 'Try another filter.'));
  }
}

export async function loadList({ more = false } = {}) {
  const request = ++state.listRequest;
  state.listLoading = true;
  if (!more) {
    state.nextCursor = null;
    if (!state.conversations.length) skeletonList($('conversation-list'));
  }
  $('load-more').disabled = true;
  $('load-more').textContent = 'Loading…';
  try {
    const page = await api.conversations({ filter: state.filter, q: state.q, label: state.label, cursor: more ? state.nextCursor : null });
    if (request !== state.listRequest) return;
    if (more) {
      const known = new Set(state.conversations.map((c) => c.id));
      state.conversations.push(...page.items.filter((c) => !known.has(c.id)));
    } else {
      state.conversations = page.items;
      $('list-wrap').scrollTop = 0;
    }
    state.nextCursor = page.next_cursor;
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
  } finally {
    if (request === state.listRequest) {
      state.listLoading = false;
      $('load-more').disabled = false;
      $('load-more').textContent = 'Load more';
      renderConversations();
    }
  }
}

export function upsertConversation(c, { fromStream = false } = {}) {
  const index = state.conversations.findIndex((x) => x.id === c.id);
  const keep = matchesFilter(c) || (c.id === state.selectedId && !c.merged_into);
  if (index >= 0) {
    if (!keep) state.conversations.splice(index, 1);
    else state.conversations[index] = c;
  } else if (keep && fromStream && !state.q) {
    // Beyond the loaded page, "load more" will bring it; inserting it would break the keyset order.
    const last = state.conversations[state.conversations.length - 1];
    if (state.nextCursor && last && compare(c, last) > 0) return;
    state.conversations.push(c);
  } else {
    return;
  }
  state.conversations.sort(compare);
}

export function setFilter(filter) {
  if (filter === state.filter) return;
  state.filter = filter;
  for (const button of $('filters').querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.filter === filter));
  }
  state.conversations = [];
  loadList();
}

export function moveSelection(step) {
  const list = state.conversations;
  if (!list.length) return;
  let index = list.findIndex((c) => c.id === state.selectedId);
  index = index < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
  const target = list[index];
  location.hash = `#/c/${encodeURIComponent(target.id)}`;
  const link = $('conversation-list').querySelector(`li[data-id="${CSS.escape(target.id)}"] a`);
  if (link) { link.focus({ preventScroll: true }); link.scrollIntoView({ block: 'nearest' }); }
  if (index >= list.length - 3 && state.nextCursor && !state.listLoading) loadList({ more: true });
}
