// The web inbox: sign-in, conversation list, thread, composer and live updates.
import { api, newIdempotencyKey, onUnauthorized } from './js/api.js';
import { Composer } from './js/composer.js';
import { announce, fill, h, icon, toast } from './js/dom.js';
import { contactName, formatNumber, hue, initials, listTime, windowState } from './js/format.js';
import { avatar, renderList, skeletonList, windowChip } from './js/list.js';
import { renderMessages } from './js/thread.js';

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  filter: 'all',
  q: '',
  conversations: [],
  nextCursor: null,
  listLoading: false,
  listRequest: 0,
  selectedId: null,
  thread: null, // {id, items, nextBefore, loadingOlder, pending, request}
  templates: null,
  stream: null,
};

// ---------------------------------------------------------------- sign-in

function show(which) {
  $('boot').hidden = true;
  $('signin').hidden = which !== 'signin';
  $('app').hidden = which !== 'app';
}

function showSignIn(message) {
  stopStream();
  state.me = null;
  show('signin');
  const error = $('signin-error');
  error.hidden = !message;
  error.textContent = message || '';
  $('signin-key').focus();
}

async function signIn(key) {
  await api.signIn(key.trim());
  state.me = await api.me();
}

function setupSignIn() {
  const form = $('signin-form');
  const input = $('signin-key');
  const submit = $('signin-submit');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    const error = $('signin-error');
    if (!key) {
      error.textContent = 'Paste your API key first.';
      error.hidden = false;
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await signIn(key);
      input.value = '';
      startApp();
    } catch (err) {
      error.textContent = err.status === 401 || err.status === 422
        ? 'That key was not accepted. Check that it is complete and has not been revoked.'
        : err.detail;
      error.hidden = false;
      input.select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  $('signin-reveal').addEventListener('click', (event) => {
    const showing = input.type === 'text';
    input.type = showing ? 'password' : 'text';
    event.currentTarget.setAttribute('aria-pressed', String(!showing));
    event.currentTarget.setAttribute('aria-label', showing ? 'Show key' : 'Hide key');
  });
  onUnauthorized(() => showSignIn('Your session has ended. Sign in again.'));
}

async function signOut() {
  closeMenu();
  try { await api.signOut(); } catch { /* the cookie is cleared server-side or already gone */ }
  state.conversations = [];
  state.selectedId = null;
  state.thread = null;
  state.templates = null;
  $('conversation-list').replaceChildren();
  history.replaceState(null, '', location.pathname + location.search);
  showSignIn();
}

// ---------------------------------------------------------------- account menu

function openMenu() {
  $('account-menu').hidden = false;
  $('account-button').setAttribute('aria-expanded', 'true');
  $('signout').focus();
}
function closeMenu() {
  $('account-menu').hidden = true;
  $('account-button').setAttribute('aria-expanded', 'false');
}

// ---------------------------------------------------------------- list

function sortKey(c) { return c.last_activity_at || ''; }
function compare(a, b) {
  const ka = sortKey(a);
  const kb = sortKey(b);
  if (ka !== kb) {
    if (!ka) return 1;
    if (!kb) return -1;
    return ka < kb ? 1 : -1;
  }
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function matchesFilter(c) {
  switch (state.filter) {
    case 'open': return c.status === 'open';
    case 'resolved': return c.status === 'resolved';
    case 'unread': return c.unread_count > 0;
    case 'mine': return Boolean(state.me) && c.assignee_id === state.me.agent_id;
    case 'unassigned': return !c.assignee_id;
    default: return true;
  }
}

function renderConversations() {
  renderList($('conversation-list'), state.conversations, { selectedId: state.selectedId, me: state.me });
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

async function loadList({ more = false } = {}) {
  const request = ++state.listRequest;
  state.listLoading = true;
  if (!more) {
    state.nextCursor = null;
    if (!state.conversations.length) skeletonList($('conversation-list'));
  }
  $('load-more').disabled = true;
  $('load-more').textContent = 'Loading…';
  try {
    const page = await api.conversations({ filter: state.filter, q: state.q, cursor: more ? state.nextCursor : null });
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

function upsertConversation(c, { fromStream = false } = {}) {
  const index = state.conversations.findIndex((x) => x.id === c.id);
  const keep = matchesFilter(c) || c.id === state.selectedId;
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

function setFilter(filter) {
  if (filter === state.filter) return;
  state.filter = filter;
  for (const button of $('filters').querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.filter === filter));
  }
  state.conversations = [];
  loadList();
}

function moveSelection(step) {
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

// ---------------------------------------------------------------- thread

let composer = null;
let threadEls = null;

function buildThread() {
  const back = h('button', { type: 'button', class: 'btn-icon back', 'aria-label': 'Back to conversations', 'data-testid': 'back', onclick: () => { location.hash = ''; } }, icon('back'));
  const who = h('div', { class: 'thread-who' });
  const actions = h('div', { class: 'thread-actions' });
  const messages = h('ol', { class: 'messages', 'aria-label': 'Messages', 'data-testid': 'messages' });
  const older = h('div', { class: 'older', 'aria-hidden': 'true' });
  const scroller = h('div', { class: 'thread-scroll', tabindex: '0', 'aria-label': 'Message history' }, older, messages);
  const jump = h('button', { type: 'button', class: 'jump', hidden: true, onclick: () => scrollToBottom(true) }, 'New messages', icon('down'));
  composer = new Composer({
    me: () => state.me,
    loadTemplates,
    send: sendMessage,
    confirmSend: confirmDialog,
  });
  const view = h('div', { class: 'thread-view' },
    h('header', { class: 'thread-head' }, back, who, actions),
    h('div', { class: 'thread-body' }, scroller, jump),
    composer.el);
  scroller.addEventListener('scroll', () => {
    if (scroller.scrollTop < 200) loadOlder();
    threadEls.stick = nearBottom();
    if (threadEls.stick) jump.hidden = true;
  }, { passive: true });
  // Images arrive after the layout: keep a reader who was at the bottom at the bottom.
  scroller.addEventListener('load', () => { if (threadEls.stick) scrollToBottom(); }, true);
  threadEls = { view, who, actions, messages, scroller, older, jump, stick: true };
  $('thread').append(view);
}

function selected() {
  return state.conversations.find((c) => c.id === state.selectedId) || (state.thread && state.thread.conversation) || null;
}

function renderThreadHead(c) {
  const { who, actions } = threadEls;
  const name = contactName(c);
  fill(who, avatar(c, 'avatar-md'),
    h('div', { class: 'who-text' },
      h('h2', { class: 'who-name', 'data-testid': 'thread-name' }, name),
      h('div', { class: 'who-sub' },
        c.customer?.name ? h('span', { class: 'who-number' }, formatNumber(c.customer.wa_id)) : null,
        windowChip(c.window, new Date(), true))));
  const mine = state.me && c.assignee_id === state.me.agent_id;
  const assignLabel = mine ? 'Unassign' : c.assignee_id ? `Take over from ${c.assignee_id}` : 'Assign to me';
  fill(actions, 
    c.assignee_id && !mine ? h('span', { class: 'tag tag-assignee' }, icon('user'), c.assignee_id) : null,
    h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'assign', 'aria-label': assignLabel, onclick: () => command(c, mine ? 'unassign' : 'assign') },
      icon(mine ? 'user' : 'userplus'), h('span', { class: 'btn-text' }, assignLabel)),
    h('button', { type: 'button', class: `btn btn-sm ${c.status === 'resolved' ? 'btn-ghost' : 'btn-outline'}`, 'data-testid': 'resolve', 'aria-label': c.status === 'resolved' ? 'Reopen conversation' : 'Resolve conversation', onclick: () => command(c, c.status === 'resolved' ? 'reopen' : 'resolve') },
      icon(c.status === 'resolved' ? 'reopen' : 'resolve'), h('span', { class: 'btn-text' }, c.status === 'resolved' ? 'Reopen' : 'Resolve')));
}

async function command(c, what) {
  const optimistic = { ...c };
  try {
    if (what === 'assign') { await api.assign(c.id, 'me'); optimistic.assignee_id = state.me.agent_id; }
    if (what === 'unassign') { await api.assign(c.id, null); optimistic.assignee_id = null; }
    if (what === 'resolve') { await api.setStatus(c.id, 'resolved'); optimistic.status = 'resolved'; }
    if (what === 'reopen') { await api.setStatus(c.id, 'open'); optimistic.status = 'open'; }
    // The stream brings the stored truth; until then show what was asked for.
    upsertConversation(optimistic);
    renderConversations();
    if (c.id === state.selectedId) renderThreadHead(optimistic);
    toast({ assign: 'Assigned to you', unassign: 'Unassigned', resolve: 'Conversation resolved', reopen: 'Conversation reopened' }[what]);
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
  }
}

function nearBottom() {
  const s = threadEls.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

function scrollToBottom(smooth = false) {
  const s = threadEls.scroller;
  s.scrollTo({ top: s.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
  threadEls.stick = true;
  threadEls.jump.hidden = true;
}

function drawMessages() {
  const t = state.thread;
  renderMessages(threadEls.messages, t.items, t.pending, { onQuote: jumpToWamid, meId: state.me && state.me.agent_id });
  fill(threadEls.older, t.nextBefore ? h('span', { class: 'spinner-dot' }, t.loadingOlder ? 'Loading earlier messages…' : '')
    : t.items.length ? h('span', { class: 'thread-start' }, 'Start of the conversation') : null);
}

function jumpToWamid(wamid) {
  const node = threadEls.messages.querySelector(`li[data-wamid="${CSS.escape(wamid)}"]`);
  if (!node) { toast('That message is further back in the history.'); return; }
  node.scrollIntoView({ block: 'center', behavior: 'smooth' });
  node.classList.add('is-flash');
  setTimeout(() => node.classList.remove('is-flash'), 1600);
}

async function openConversation(id) {
  if (!threadEls) buildThread();
  state.selectedId = id;
  $('app').dataset.view = 'thread';
  $('thread-empty').hidden = true;
  threadEls.view.hidden = false;
  renderConversations();
  let c = state.conversations.find((x) => x.id === id);
  const request = Symbol(id);
  state.thread = { id, items: [], nextBefore: null, loadingOlder: false, pending: [], request, conversation: c || null };
  fill(threadEls.messages, h('li', { class: 'thread-loading', 'aria-hidden': 'true' }, h('span', { class: 'sk w60' }), h('span', { class: 'sk w40 right' }), h('span', { class: 'sk w50' })));
  threadEls.older.replaceChildren();
  try {
    if (!c) {
      c = await api.conversation(id);
      state.thread.conversation = c;
    }
    if (state.thread.request !== request) return;
    renderThreadHead(c);
    composer.update(c);
    const page = await api.messages(id);
    if (state.thread.request !== request) return;
    state.thread.items = page.items;
    state.thread.nextBefore = page.next_before;
    drawMessages();
    scrollToBottom();
    if (matchMedia('(min-width: 761px)').matches && document.activeElement?.closest('.conv-list') == null) composer.focus();
    markRead(c);
  } catch (err) {
    if (state.thread.request !== request || err.status === 401) return;
    fill(threadEls.messages, h('li', { class: 'thread-error' }, icon('alert'),
      err.status === 404 ? 'This conversation does not exist or belongs to another team.' : err.detail));
  }
}

function closeConversation() {
  state.selectedId = null;
  state.thread = null;
  $('app').dataset.view = 'list';
  $('thread-empty').hidden = false;
  if (threadEls) threadEls.view.hidden = true;
  renderConversations();
}

async function markRead(c) {
  if (!c.unread_count || document.visibilityState !== 'visible') return;
  upsertConversation({ ...c, unread_count: 0 });
  renderConversations();
  try { await api.markRead(c.id); } catch (err) { if (err.status !== 401) toast(err.detail, 'error'); }
}

async function loadOlder() {
  const t = state.thread;
  if (!t || !t.nextBefore || t.loadingOlder) return;
  t.loadingOlder = true;
  drawMessages();
  try {
    const page = await api.messages(t.id, t.nextBefore);
    if (state.thread !== t) return;
    const s = threadEls.scroller;
    const fromBottom = s.scrollHeight - s.scrollTop;
    const known = new Set(t.items.map((m) => m.id));
    t.items = [...page.items.filter((m) => !known.has(m.id)), ...t.items];
    t.nextBefore = page.next_before;
    t.loadingOlder = false;
    drawMessages();
    // Keep the message under the reader's eyes where it was.
    s.scrollTop = s.scrollHeight - fromBottom;
  } catch (err) {
    t.loadingOlder = false;
    if (err.status !== 401) toast(err.detail, 'error');
  }
}

// Refetch the newest page and splice it onto what is already loaded (older pages stay).
async function refreshThread() {
  const t = state.thread;
  if (!t || t.refreshing) { if (t) t.refreshAgain = true; return; }
  t.refreshing = true;
  try {
    const page = await api.messages(t.id);
    if (state.thread !== t) return;
    const fresh = new Set(page.items.map((m) => m.id));
    const firstShared = t.items.findIndex((m) => fresh.has(m.id));
    const before = new Set(t.items.map((m) => m.id));
    if (firstShared >= 0) {
      t.items = [...t.items.slice(0, firstShared).filter((m) => !fresh.has(m.id)), ...page.items];
    } else {
      t.items = page.items;
      t.nextBefore = page.next_before;
    }
    t.pending = t.pending.filter((p) => !p.commandId || !t.items.some((m) => String(m.id).includes(p.commandId)));
    const stick = threadEls.stick || nearBottom();
    drawMessages();
    const arrived = page.items.filter((m) => !before.has(m.id));
    if (stick) scrollToBottom();
    else if (arrived.length) threadEls.jump.hidden = false;
    for (const m of arrived.filter((x) => x.direction === 'inbound')) {
      announce(`New message from ${contactName(selected() || {})}: ${m.text || m.type}`);
    }
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
  } finally {
    t.refreshing = false;
    if (t.refreshAgain) { t.refreshAgain = false; refreshThread(); }
  }
}

async function sendMessage(c, body, previewText) {
  const key = newIdempotencyKey();
  const t = state.thread;
  const pending = { key, text: previewText, at: Date.now(), commandId: null };
  t.pending.push(pending);
  drawMessages();
  scrollToBottom();
  try {
    const result = await api.send(c.id, body, key);
    pending.commandId = result.command_id;
    announce('Message queued for sending');
    refreshThread();
  } catch (err) {
    t.pending = t.pending.filter((p) => p !== pending);
    drawMessages();
    if (err.status === 409) {
      // The window may have closed since the page loaded: fetch the truth so the composer switches.
      api.conversation(c.id).then((fresh) => applyConversation(fresh)).catch(() => {});
    }
    throw err;
  }
}

async function loadTemplates() {
  if (!state.templates) {
    const answer = await api.templates();
    state.templates = answer.items.filter((t) => !t.status || t.status === 'APPROVED');
  }
  return state.templates;
}

function confirmDialog(title, text) {
  const dialog = $('confirm');
  $('confirm-title').textContent = `${title}`;
  $('confirm-text').textContent = text;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    dialog.querySelector('[value="ok"]').focus();
  });
}

// ---------------------------------------------------------------- live updates

function setLive(status) {
  const el = $('live');
  el.dataset.state = status;
  el.querySelector('.live-text').textContent = { live: 'Live', connecting: 'Connecting', reconnecting: 'Reconnecting…', offline: 'Offline' }[status];
}

function applyConversation(c) {
  const old = state.conversations.find((x) => x.id === c.id) || (state.thread && state.thread.id === c.id ? state.thread.conversation : null);
  if (old && typeof old.version === 'number' && typeof c.version === 'number' && c.version < old.version) return false;
  upsertConversation(c, { fromStream: true });
  if (state.thread && state.thread.id === c.id) {
    state.thread.conversation = c;
    renderThreadHead(c);
    composer.update(c);
  }
  renderConversations();
  return true;
}

function onChanged(data) {
  const { message_ids: messageIds, ...c } = data;
  const old = state.conversations.find((x) => x.id === c.id);
  if (!applyConversation(c)) return;
  if (state.thread && state.thread.id === c.id) {
    refreshThread();
    if (c.unread_count > 0) markRead(c);
  } else if (c.last_message && c.last_message.direction === 'inbound'
      && (!old || !old.last_message || old.last_message.at !== c.last_message.at)) {
    announce(`New message from ${contactName(c)}: ${c.last_message.preview}`);
  }
  void messageIds;
}

function startStream() {
  stopStream();
  setLive('connecting');
  const source = new EventSource('/api/v1/stream', { withCredentials: true });
  state.stream = source;
  // The browser reconnects by itself with Last-Event-ID, and the server answers `resync` when it
  // cannot replay that far back; only a stream rebuilt after a hard failure reloads (below).
  source.addEventListener('open', () => setLive('live'));
  source.addEventListener('conversation.changed', (event) => {
    try { onChanged(JSON.parse(event.data)); } catch (err) { console.error('bad stream event', err); }
  });
  source.addEventListener('resync', resync);
  source.addEventListener('error', () => {
    if (state.stream !== source) return;
    if (source.readyState === EventSource.CLOSED) {
      setLive('offline');
      // The browser gave up (e.g. the session expired): ask who we are, then start over.
      setTimeout(async () => {
        if (state.stream !== source) return;
        try { await api.me(); startStream(); resync(); } catch (err) {
          if (err.status === 401) showSignIn('Your session has ended. Sign in again.');
          else setTimeout(() => state.stream === source && startStream(), 5000);
        }
      }, 2000);
    } else {
      setLive('reconnecting');
    }
  });
}

function stopStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}

function resync() {
  loadList();
  if (state.thread) {
    api.conversation(state.thread.id).then(applyConversation).catch(() => {});
    refreshThread();
  }
}

// ---------------------------------------------------------------- clocks

function tick() {
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

function route() {
  const match = location.hash.match(/^#\/c\/(.+)$/);
  if (match) {
    const id = decodeURIComponent(match[1]);
    if (id !== state.selectedId) openConversation(id);
  } else if (state.selectedId) {
    closeConversation();
  }
}

function typing(target) {
  return target.closest('input, textarea, select, [contenteditable="true"]');
}

function onKey(event) {
  if ($('app').hidden || $('confirm').open) return;
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
}

function setupApp() {
  $('filters').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-filter]');
    if (button) setFilter(button.dataset.filter);
  });
  let searchTimer = 0;
  $('search').addEventListener('input', (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      const q = event.target.value.trim();
      if (q === state.q) return;
      state.q = q;
      state.conversations = [];
      loadList();
    }, 250);
  });
  $('search').addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && event.target.value) { event.target.value = ''; event.target.dispatchEvent(new Event('input')); }
    if (event.key === 'ArrowDown' || event.key === 'Enter') {
      event.preventDefault();
      $('conversation-list').querySelector('a')?.focus();
    }
  });
  $('load-more').addEventListener('click', () => loadList({ more: true }));
  $('list-wrap').addEventListener('scroll', (event) => {
    const el = event.currentTarget;
    if (state.nextCursor && !state.listLoading && el.scrollHeight - el.scrollTop - el.clientHeight < 200) loadList({ more: true });
  }, { passive: true });
  $('account-button').addEventListener('click', () => ($('account-menu').hidden ? openMenu() : closeMenu()));
  document.addEventListener('click', (event) => {
    if (!event.target.closest('.account')) closeMenu();
  });
  $('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', onKey);
  document.addEventListener('visibilitychange', () => {
    const c = selected();
    if (c && document.visibilityState === 'visible') markRead(c);
  });
  setInterval(tick, 15_000);
}

function startApp() {
  const me = state.me;
  show('app');
  $('account-name').textContent = me.display_name || me.agent_id;
  $('account-meta').textContent = `${me.agent_id} · ${me.tenant_id}`;
  const avatarEl = $('account-avatar');
  avatarEl.textContent = initials(me.display_name || me.agent_id);
  avatarEl.style.setProperty('--h', hue(me.agent_id));
  $('account-button').title = `${me.display_name || me.agent_id} (${me.tenant_id})`;
  state.conversations = [];
  loadList();
  startStream();
  route();
}

async function boot() {
  setupSignIn();
  setupApp();
  // A one-click login link (`#key=...`, printed by ./dev run): use it once, then drop it from the
  // address bar and history so the key is not left lying around.
  const keyMatch = location.hash.match(/^#key=([^&]+)/);
  if (keyMatch) {
    history.replaceState(null, '', location.pathname + location.search);
    try {
      await signIn(decodeURIComponent(keyMatch[1]));
      startApp();
      return;
    } catch (err) {
      showSignIn(err.status === 401 ? 'The key in that link was not accepted.' : err.detail);
      return;
    }
  }
  try {
    state.me = await api.me();
    startApp();
  } catch (err) {
    showSignIn(err.status === 401 || err.status === 0 ? (err.status === 0 ? err.detail : '') : err.detail);
  }
}

boot();
