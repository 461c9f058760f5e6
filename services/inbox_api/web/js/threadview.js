// The open conversation: header, messages, older pages, refresh, sends.
import { api, newIdempotencyKey } from './api.js';
import { assignSelect } from './assign.js';
import { labelChips, labelPicker, withNewerLabels } from './labels.js';
import { loadNotes, placeNotes } from './notes.js';
import { Composer } from './composer.js';
import { PresenceBar } from './presence.js';
import { announce, fill, h, icon, toast } from './dom.js';
import { contactName, customerDetails, customerTooltip } from './format.js';
import { avatar, windowChip } from './list.js';
import { optOutBadge } from './notices.js';
import { renderMessages } from './thread.js';
import { $, agentName, selected, state } from './state.js';
import { renderConversations, upsertConversation } from './conversations.js';

export let composer = null;
export let threadEls = null;
// Who else has the open thread, and who is typing (presence.js).
export let presence = null;

export function buildThread() {
  const back = h('button', { type: 'button', class: 'btn-icon back', 'aria-label': 'Back to conversations', 'data-testid': 'back', onclick: () => { location.hash = ''; } }, icon('back'));
  const who = h('div', { class: 'thread-who' });
  const actions = h('div', { class: 'thread-actions' });
  const messages = h('ol', { class: 'messages', 'aria-label': 'Messages', 'data-testid': 'messages' });
  const older = h('div', { class: 'older', 'aria-hidden': 'true' });
  const scroller = h('div', { class: 'thread-scroll', tabindex: '0', 'aria-label': 'Message history' }, older, messages);
  const jump = h('button', { type: 'button', class: 'jump', hidden: true, onclick: () => scrollToBottom(true) }, 'New messages', icon('down'));
  presence = new PresenceBar({ me: () => state.me });
  composer = new Composer({
    me: () => state.me,
    onTyping: (active) => (active ? presence.typed() : presence.stoppedTyping()),
    agentName,
    loadTemplates,
    send: sendMessage,
    confirmSend: confirmDialog,
    typing: (c) => api.typing(c.id),
    addNote,
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

export function renderThreadHead(c) {
  const { who, actions } = threadEls;
  const name = contactName(c);
  fill(who, avatar(c, 'avatar-md'),
    h('div', { class: 'who-text' },
      h('h2', { class: 'who-name', 'data-testid': 'thread-name', title: customerTooltip(c) || null }, name),
      h('div', { class: 'who-sub' },
        customerDetails(c).map((detail) => h('span', { class: 'who-number', 'data-testid': 'thread-customer-detail' }, detail)),
        windowChip(c.window, new Date(), true),
        optOutBadge(c),
        labelChips(c)),
      presence.el));
  const mine = state.me && c.assignee_id === state.me.agent_id;
  const assignee = agentName(c.assignee_id);
  const assignLabel = mine ? 'Unassign' : c.assignee_id ? `Take over from ${assignee}` : 'Assign to me';
  fill(actions,
    labelPicker(c, (answer) => applyConversation({ ...(selected() || c), labels: answer.labels, labels_at: answer.labels_at })),
    assignSelect(c, (assigneeId) => command(c, 'to', assigneeId)),
    h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'data-testid': 'assign', 'aria-label': assignLabel, onclick: () => command(c, mine ? 'unassign' : 'assign') },
      icon(mine ? 'user' : 'userplus'), h('span', { class: 'btn-text' }, assignLabel)),
    h('button', { type: 'button', class: `btn btn-sm ${c.status === 'resolved' ? 'btn-ghost' : 'btn-outline'}`, 'data-testid': 'resolve', 'aria-label': c.status === 'resolved' ? 'Reopen conversation' : 'Resolve conversation', onclick: () => command(c, c.status === 'resolved' ? 'reopen' : 'resolve') },
      icon(c.status === 'resolved' ? 'reopen' : 'resolve'), h('span', { class: 'btn-text' }, c.status === 'resolved' ? 'Reopen' : 'Resolve')));
}

// A conversation's new state (from the stream or a fetch) into the list and the open thread;
// false when it is older than what the page shows.
// A conversation merged into the same customer's other one: the agent goes there (its thread
// has every message of both).
export function followMerge(c) {
  toast('This customer\'s two conversations were merged: showing the one they are in now.');
  location.replace(`#/c/${encodeURIComponent(c.merged_into)}`);
}

export function applyConversation(update) {
  const old = state.conversations.find((x) => x.id === update.id) || (state.thread && state.thread.id === update.id ? state.thread.conversation : null);
  if (old && typeof old.version === 'number' && typeof update.version === 'number' && update.version < old.version) return false;
  let c = withNewerLabels(old, update);
  // The stream carries no one's mention marker (it is per agent): keep the one the page has.
  if (old && c.mentions_unread === undefined) c = { ...c, mentions_unread: old.mentions_unread };
  upsertConversation(c, { fromStream: true });
  if (c.merged_into) {
    if (state.thread && state.thread.id === c.id) followMerge(c);
    renderConversations();
    return false;
  }
  if (state.thread && state.thread.id === c.id) {
    state.thread.conversation = c;
    renderThreadHead(c);
    composer.update(c);
  }
  renderConversations();
  return true;
}

export async function command(c, what, assigneeId = null) {
  const optimistic = { ...c };
  try {
    if (what === 'assign') { await api.assign(c.id, 'me'); optimistic.assignee_id = state.me.agent_id; }
    if (what === 'to') { await api.assign(c.id, assigneeId); optimistic.assignee_id = assigneeId; }
    if (what === 'unassign') { await api.assign(c.id, null); optimistic.assignee_id = null; }
    if (what === 'resolve') { await api.setStatus(c.id, 'resolved'); optimistic.status = 'resolved'; }
    if (what === 'reopen') { await api.setStatus(c.id, 'open'); optimistic.status = 'open'; }
    // The stream brings the stored truth; until then show what was asked for.
    upsertConversation(optimistic);
    renderConversations();
    if (c.id === state.selectedId) renderThreadHead(optimistic);
    toast({ to: assigneeId ? `Assigned to ${agentName(assigneeId)}` : 'Unassigned', assign: 'Assigned to you', unassign: 'Unassigned', resolve: 'Conversation resolved', reopen: 'Conversation reopened' }[what]);
  } catch (err) {
    if (err.status !== 401) toast(err.detail, 'error');
  }
}

export function nearBottom() {
  const s = threadEls.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

export function scrollToBottom(smooth = false) {
  const s = threadEls.scroller;
  s.scrollTo({ top: s.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
  threadEls.stick = true;
  threadEls.jump.hidden = true;
}

export function drawMessages() {
  const t = state.thread;
  const open = Boolean(t.conversation && t.conversation.window && t.conversation.window.open);
  renderMessages(threadEls.messages, t.items, t.pending, {
    onQuote: jumpToWamid, meId: state.me && state.me.agent_id, agentName,
    customerName: t.conversation ? contactName(t.conversation) : null,
    // Reactions and quoted replies are free-form messages: only inside the 24-hour window.
    canRespond: open, onReact: react, onReply: (message) => composer.replyTo(message),
  });
  placeNotes(threadEls.messages, t.notes || [], t.items);
  fill(threadEls.older, t.nextBefore ? h('span', { class: 'spinner-dot' }, t.loadingOlder ? 'Loading earlier messages…' : '')
    : t.items.length ? h('span', { class: 'thread-start' }, 'Start of the conversation') : null);
}

export function jumpToWamid(wamid) {
  const node = threadEls.messages.querySelector(`li[data-wamid="${CSS.escape(wamid)}"]`);
  if (!node) { toast('That message is further back in the history.'); return; }
  node.scrollIntoView({ block: 'center', behavior: 'smooth' });
  node.classList.add('is-flash');
  setTimeout(() => node.classList.remove('is-flash'), 1600);
}

export async function openConversation(id) {
  if (!threadEls) buildThread();
  state.selectedId = id;
  presence.open(id);
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
    if (c.merged_into) { followMerge(c); return; }
    renderThreadHead(c);
    composer.update(c);
    const page = await api.messages(id);
    if (state.thread.request !== request) return;
    state.thread.items = page.items;
    state.thread.nextBefore = page.next_before;
    state.thread.notes = await loadNotes(c).catch(() => []);
    if (state.thread.request !== request) return;
    if (c.mentions_unread) { upsertConversation({ ...c, mentions_unread: 0 }); renderConversations(); }
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

export function closeConversation() {
  state.selectedId = null;
  state.thread = null;
  if (presence) presence.close();
  $('app').dataset.view = 'list';
  $('thread-empty').hidden = false;
  if (threadEls) threadEls.view.hidden = true;
  renderConversations();
}

export async function markRead(c) {
  if (!c.unread_count || document.visibilityState !== 'visible') return;
  upsertConversation({ ...c, unread_count: 0 });
  renderConversations();
  try { await api.markRead(c.id); } catch (err) { if (err.status !== 401) toast(err.detail, 'error'); }
}

export async function loadOlder() {
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
export async function refreshThread() {
  const t = state.thread;
  if (!t || t.refreshing) { if (t) t.refreshAgain = true; return; }
  t.refreshing = true;
  try {
    const page = await api.messages(t.id);
    const notes = await api.notes(t.id).catch(() => null); // a colleague's note shows here too
    if (state.thread !== t) return;
    if (notes) t.notes = notes.items;
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

export async function sendMessage(c, body, previewText) {
  const key = newIdempotencyKey();
  const t = state.thread;
  const quoted = body.reply_to ? t.items.find((m) => m.wamid === body.reply_to) : null;
  const pending = { key, text: previewText, at: Date.now(), commandId: null, replyTo: quoted ? { preview: quoted.text } : null };
  t.pending.push(pending);
  drawMessages();
  scrollToBottom();
  try {
    const result = await (body.kind === 'attachment' ? api.attach(c.id, body, key) : api.send(c.id, body, key));
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

// A private note: stored by the inbox, shown in the thread, never sent to the customer.
async function addNote(c, text) {
  const note = await api.addNote(c.id, text);
  const t = state.thread;
  if (!t || t.id !== c.id) return;
  t.notes = [...(t.notes || []).filter((n) => n.id !== note.id), note];
  drawMessages();
  scrollToBottom();
  announce(note.mentions.length ? `Note added; ${note.mentions.map((m) => m.display_name).join(', ')} notified` : 'Note added');
}

export async function loadTemplates() {
  if (!state.templates) {
    const answer = await api.templates();
    state.templates = answer.items.filter((t) => !t.status || t.status === 'APPROVED');
  }
  return state.templates;
}

export function confirmDialog(title, text) {
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

// Names arrive after the first paint (and again when an unknown agent shows up): redraw them.
export function redrawNames() {
  renderConversations();
  if (state.thread && threadEls) {
    drawMessages();
    if (state.thread.conversation) renderThreadHead(state.thread.conversation);
  }
}

// React to a message; picking the business's current emoji again removes it (emoji "").
async function react(message, emoji) {
  const t = state.thread;
  if (!t || !message.wamid) return;
  const mine = (message.reactions || []).find((r) => r.by === 'business');
  const next = mine && mine.emoji === emoji ? '' : emoji;
  const before = message.reactions || [];
  const apply = (reactions) => {
    t.items = t.items.map((m) => (m.id === message.id ? { ...m, reactions } : m));
    drawMessages();
  };
  // Shown at once; the stream brings the stored truth (refreshThread).
  apply([...before.filter((r) => r.by !== 'business'), ...(next ? [{ by: 'business', emoji: next }] : [])]);
  try {
    await api.react(t.id, message.wamid, next);
    announce(next ? `Reacted with ${next}` : 'Reaction removed');
  } catch (err) {
    if (state.thread === t) apply(before);
    if (err.status !== 401) toast(err.detail, 'error');
  }
}
