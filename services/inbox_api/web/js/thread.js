// The thread: message bubbles, day separators, status ticks, media, quotes, reactions.
import { api } from './api.js';
import { h, icon, toast } from './dom.js';
import { clockTime, dayLabel, fullTime, parseTime } from './format.js';
import { callNode, editedLabel, fromAppLabel } from './changes.js';
import { bubbleErrors, bubbleHead, coversText, errorText, messageContent } from './content.js';

const STATUS_TEXT = {
  accepted: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read', played: 'Played',
  failed: 'Not delivered', refused: 'Not sent', unknown: 'Status unknown', received: 'Received',
};

function statusIcon(message) {
  const label = STATUS_TEXT[message.status] || message.status;
  switch (message.status) {
    case 'sent': return icon('check', label);
    case 'delivered': return icon('checks', label);
    case 'read': case 'played': return icon('checks', label);
    case 'failed': return icon('alert', label);
    case 'refused': return icon('ban', label);
    case 'unknown': return icon('question', label);
    default: return icon('clock', label);
  }
}

function history(message) {
  const rows = (message.statuses || []).map((s) => `${STATUS_TEXT[s.status] || s.status} ${fullTime(s.at)}`);
  return rows.length ? rows.join('\n') : STATUS_TEXT[message.status] || '';
}

// The inbox's own copy of a customer's media (docs/media.md): refused or failed says why, with
// a retry; WhatsApp's copy may still show meanwhile, but not for long.
function archiveNote(media) {
  const archive = media.archive;
  if (!archive || archive.status === 'stored' || archive.status === 'pending') return null;
  const button = archive.retryable ? h('button', { type: 'button', class: 'media-retry', 'data-testid': 'media-retry' }, icon('refresh'), 'Retry') : null;
  button?.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api.retryMedia(media.id);
      button.replaceChildren('Retry requested');
    } catch (err) {
      button.disabled = false;
      if (err.status !== 401) toast(err.detail, 'error');
    }
  });
  return h('p', { class: 'media-archive', role: 'note', 'data-testid': 'media-archive' }, icon('alert'),
    h('span', {}, `Media not kept: ${archive.reason || archive.status.replace('_', ' ')}`), button);
}

function mediaBlock(message) {
  const media = message.media;
  if (!media) return null;
  const note = archiveNote(media);
  return note ? h('div', { class: 'media-block' }, mediaElement(message, media), note) : mediaElement(message, media);
}

function mediaElement(message, media) {
  const mime = media.mime_type || '';
  const kind = message.type;
  const url = media.url || `/api/v1/media/${encodeURIComponent(media.id)}`;
  const fileChip = () => h('a', { class: 'file-chip', href: url, target: '_blank', rel: 'noopener', download: media.filename || true },
    icon('file'), h('span', { class: 'file-name' }, media.filename || (mime ? mime.split('/')[1]?.toUpperCase() + ' file' : 'Attachment')),
    h('span', { class: 'file-action' }, 'Download'));
  if (kind === 'image' || kind === 'sticker' || (mime.startsWith('image/') && kind !== 'document')) {
    const img = h('img', { class: kind === 'sticker' ? 'sticker' : 'media-img', src: url, alt: media.caption || (kind === 'sticker' ? 'Sticker' : 'Image from the conversation'), loading: 'lazy' });
    // An expired or missing media id should read as a file, not as a broken image.
    img.addEventListener('error', () => img.replaceWith(h('span', { class: 'media-missing' }, icon('image'), 'Image unavailable')), { once: true });
    return h('a', { class: 'media-link', href: url, target: '_blank', rel: 'noopener', 'aria-label': 'Open image' }, img);
  }
  if (kind === 'video' || mime.startsWith('video/')) return h('video', { class: 'media-video', src: url, controls: true, preload: 'metadata' });
  if (kind === 'audio' || mime.startsWith('audio/')) return h('audio', { class: 'media-audio', src: url, controls: true, preload: 'none' });
  return fileChip();
}

// Locations, contacts, orders, interactive replies, ...: content.js.
function specialContent(message) {
  return messageContent(message);
}

function bubbleText(message) {
  if (message.deleted) return h('p', { class: 'text is-deleted' }, icon('ban'), message.direction === 'inbound' ? 'This message was deleted' : 'You deleted this message');
  if (coversText(message)) return null;
  const text = message.media ? message.media.caption || (message.text !== message.media.filename ? message.text : '') : message.text;
  if (!text) {
    if (message.media || specialContent(message)) return null;
    if (message.type === 'unsupported') return h('p', { class: 'text is-muted' }, 'This message type is not supported by WhatsApp Cloud API yet.');
    return h('p', { class: 'text is-muted' }, `(${message.type || 'empty'} message)`);
  }
  return h('p', { class: 'text', dir: 'auto' }, text);
}

function problem(message) {
  const error = message.error;
  if (message.status === 'failed') {
    const what = errorText(error) || 'WhatsApp did not deliver this message.';
    return h('div', { class: 'msg-problem is-failed', 'data-testid': 'message-error' }, icon('alert'),
      h('span', {}, h('strong', {}, 'Not delivered. '), what, error && error.code ? h('span', { class: 'code' }, ` (error ${error.code})`) : null));
  }
  if (message.status === 'refused') {
    return h('div', { class: 'msg-problem is-refused', 'data-testid': 'message-error' }, icon('ban'),
      h('span', {}, h('strong', {}, 'Not sent. '), (error && (error.detail || error.reason)) || 'The inbox refused this message.',
        error && error.hint ? h('span', { class: 'hint' }, ` ${error.hint}`) : null));
  }
  if (message.status === 'unknown') {
    return h('div', { class: 'msg-problem is-unknown' }, icon('question'),
      h('span', {}, errorText(error) || 'The Cloud API did not confirm this message; it may or may not have been sent.'));
  }
  return null;
}

// A small set, as WhatsApp's own quick reactions.
export const REACTIONS = ['👍', '❤️', '😂', '😮', '🙏', '✅'];

function closePicker(picker, focusBack) {
  picker.remove();
  focusBack?.focus();
}

// The emoji picker of one message: arrow keys move, Enter/Space pick, Escape closes.
function openPicker(li, anchor, message, onReact) {
  const open = li.querySelector('.react-picker');
  if (open) { closePicker(open, anchor); return; }
  const current = (message.reactions || []).find((r) => r.by === 'business');
  const picker = h('div', { class: 'react-picker', role: 'group', 'aria-label': 'Pick a reaction', 'data-testid': 'reaction-picker' },
    REACTIONS.map((emoji) => {
      const on = Boolean(current && current.emoji === emoji);
      return h('button', {
        type: 'button', class: 'react-choice', 'aria-pressed': String(on),
        'aria-label': on ? `Remove reaction ${emoji}` : `React with ${emoji}`, 'data-emoji': emoji,
        onclick: () => { closePicker(picker, anchor); onReact(message, emoji); },
      }, emoji);
    }));
  picker.addEventListener('keydown', (event) => {
    const choices = [...picker.querySelectorAll('button')];
    const index = choices.indexOf(document.activeElement);
    if (event.key === 'Escape') { event.preventDefault(); event.stopPropagation(); closePicker(picker, anchor); }
    else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      event.preventDefault();
      const step = event.key === 'ArrowRight' ? 1 : -1;
      choices[(index + step + choices.length) % choices.length].focus();
    }
  });
  const outside = (event) => {
    if (!picker.isConnected) { document.removeEventListener('pointerdown', outside, true); return; }
    if (!picker.contains(event.target) && event.target !== anchor && !anchor.contains(event.target)) {
      document.removeEventListener('pointerdown', outside, true);
      picker.remove();
    }
  };
  document.addEventListener('pointerdown', outside, true);
  li.append(picker);
  (picker.querySelector('[aria-pressed="true"]') || picker.firstElementChild).focus();
}

function actions(message, handlers) {
  if (!handlers.canRespond || !message.wamid || message.deleted || message.type === 'reaction') return null;
  const reply = h('button', {
    type: 'button', class: 'msg-action', title: 'Reply', 'aria-label': 'Reply to this message', 'data-testid': 'reply-button',
    onclick: () => handlers.onReply && handlers.onReply(message),
  }, icon('reply'));
  const react = h('button', {
    type: 'button', class: 'msg-action', title: 'React', 'aria-label': 'React to this message', 'aria-haspopup': 'true', 'data-testid': 'react-button',
    onclick: (event) => openPicker(event.currentTarget.closest('li'), event.currentTarget, message, handlers.onReact),
  }, icon('smile'));
  return h('div', { class: 'msg-actions' }, reply, react);
}

// A line WhatsApp added to the thread (the customer changed their number or account).
function systemNode(message, handlers) {
  const who = handlers.customerName || 'The customer';
  return h('li', { class: 'msg system', 'data-testid': 'system-line', dataset: { id: message.id, direction: 'system' } },
    h('span', {}, `${who} ${message.text}`));
}

export function messageNode(message, handlers = {}) {
  if (message.call) return callNode(message);
  if (message.direction === 'system') return systemNode(message, handlers);
  const { onQuote } = handlers;
  const agentName = handlers.agentName || ((id) => id);
  const outbound = message.direction === 'outbound';
  const at = parseTime(message.sent_at);
  const reactions = message.reactions || [];
  // A campaign's actor id ("campaign:<id>") is no author: content.js shows the campaign's name.
  const byOther = outbound && message.actor_id && handlers.meId && message.actor_id !== handlers.meId
    && !message.campaign && !String(message.actor_id).startsWith('campaign:');
  const bubble = h('div', { class: `bubble${message.media && !message.text ? ' is-media' : ''}${message.type === 'template' ? ' is-template' : ''}` },
    byOther ? h('span', { class: 'bubble-author' }, agentName(message.actor_id)) : null,
    bubbleHead(message),
    message.type === 'template' ? h('span', { class: 'bubble-kind' }, icon('template'), 'Template') : null,
    message.reply_to ? h('button', { type: 'button', class: 'quote', onclick: () => onQuote && onQuote(message.reply_to.wamid), 'aria-label': `Replying to: ${message.reply_to.preview || 'a message'}` },
      h('span', { class: 'quote-text' }, message.reply_to.preview || 'Original message')) : null,
    mediaBlock(message), specialContent(message), bubbleText(message), bubbleErrors(message),
    h('span', { class: 'meta' },
      fromAppLabel(message), editedLabel(message),
      h('time', { datetime: message.sent_at || '', title: fullTime(message.sent_at) }, at ? clockTime(at) : ''),
      outbound ? h('span', { class: `ticks tick-${message.status}`, title: history(message), 'data-testid': 'message-status' }, statusIcon(message)) : null),
    reactions.length ? h('span', { class: 'reactions', 'data-testid': 'reactions', 'aria-label': `Reactions: ${reactions.map((r) => r.emoji).join(' ')}` },
      reactions.map((r) => h('span', { class: 'reaction', title: r.by === 'customer' ? 'Customer' : 'You' }, r.emoji))) : null);
  return h('li', {
    class: `msg ${outbound ? 'out' : 'in'}${reactions.length ? ' has-reactions' : ''}`,
    'data-testid': 'message', dataset: { id: message.id, wamid: message.wamid || '', status: message.status || '', direction: message.direction },
  }, h('div', { class: 'msg-row' }, bubble, actions(message, handlers)), outbound ? problem(message) : null);
}

export function pendingNode(pending) {
  return h('li', { class: 'msg out is-pending', 'data-testid': 'message', dataset: { status: 'pending', direction: 'outbound' } },
    h('div', { class: 'bubble' },
      pending.replyTo ? h('span', { class: 'quote' }, h('span', { class: 'quote-text' }, pending.replyTo.preview || 'Original message')) : null,
      h('p', { class: 'text', dir: 'auto' }, pending.text),
      h('span', { class: 'meta' }, h('time', {}, clockTime(new Date(pending.at))), h('span', { class: 'ticks' }, icon('clock', 'Sending')))));
}

const signatures = new WeakMap();

// Rebuild only the messages whose data changed; day separators are recomputed each time.
export function renderMessages(listEl, messages, pending, handlers) {
  const old = new Map();
  for (const node of listEl.querySelectorAll(':scope > li.msg[data-id]')) old.set(node.dataset.id, node);
  const nodes = [];
  let lastDay = '';
  const now = new Date();
  for (const message of messages) {
    const at = parseTime(message.sent_at);
    const day = at ? at.toDateString() : lastDay;
    if (day && day !== lastDay) {
      nodes.push(h('li', { class: 'day', role: 'separator' }, h('span', {}, dayLabel(at, now))));
      lastDay = day;
    }
    const signature = JSON.stringify([message, Boolean(handlers.canRespond), handlers.agentName ? handlers.agentName(message.actor_id) : null, handlers.customerName || '']);
    let node = old.get(message.id);
    if (!node || signatures.get(node) !== signature) {
      node = messageNode(message, handlers);
      signatures.set(node, signature);
    }
    nodes.push(node);
  }
  for (const p of pending) nodes.push(pendingNode(p));
  place(listEl, nodes);
}

// Put the nodes in order, moving only those out of place: re-inserting every node would take
// focus away from a message's buttons (and close its reaction picker) at each live update.
function place(listEl, nodes) {
  const wanted = new Set(nodes);
  for (const child of [...listEl.children]) if (!wanted.has(child)) child.remove();
  let previous = null;
  for (const node of nodes) {
    const expected = previous ? previous.nextElementSibling : listEl.firstElementChild;
    if (expected !== node) {
      if (previous) previous.after(node); else listEl.prepend(node);
    }
    previous = node;
  }
}
