// The conversation list: one <li><a> per conversation, patched in place so focus survives updates.
import { fill, h, icon } from './dom.js';
import { contactName, customerKey, customerTooltip, formatNumber, hue, initials, listTime, windowState } from './format.js';
import { labelChips } from './labels.js';
import { mentionBadge } from './notes.js';
import { optOutBadge } from './notices.js';

export function avatar(conversation, size = '') {
  const name = contactName(conversation);
  const known = Boolean(conversation.customer && conversation.customer.name);
  return h('span', { class: `avatar ${size}`, style: `--h:${hue(customerKey(conversation))}`, 'aria-hidden': 'true' },
    known ? initials(name) : icon('user'));
}

export function windowChip(window, now = new Date(), long = false) {
  const w = windowState(window, now);
  return h('span', { class: `window-chip window-${w.state}`, dataset: { window: JSON.stringify(window || null), long: long ? '1' : '' }, title: w.long },
    h('span', { class: 'dot', 'aria-hidden': 'true' }), long ? w.long : w.short);
}

// The contract has no actor on last_message; the latest agent reply is the best guess of who.
function sender(conversation, me, agentName) {
  const agent = conversation.last_agent_reply && conversation.last_agent_reply.agent_id;
  return agent && me && agent !== me.agent_id ? agentName(agent) : 'You';
}

const sameName = (id) => id;

function itemChildren(conversation, me, now, agentName) {
  const name = contactName(conversation);
  const last = conversation.last_message;
  const unread = conversation.unread_count || 0;
  const preview = last ? last.preview || 'Message' : 'No messages yet';
  const assignee = conversation.assignee_id;
  const mine = me && assignee === me.agent_id;
  return [
    avatar(conversation),
    h('span', { class: 'conv-body' },
      h('span', { class: 'conv-row' },
        h('span', { class: 'conv-name', 'data-testid': 'conversation-name', title: customerTooltip(conversation) || null }, name),
        h('time', { class: `conv-time${unread ? ' is-unread' : ''}`, datetime: conversation.last_activity_at || '', dataset: { reltime: conversation.last_activity_at || '' } },
          listTime(conversation.last_activity_at, now))),
      h('span', { class: 'conv-row' },
        h('span', { class: 'conv-preview', 'data-testid': 'conversation-preview' },
          last && last.direction === 'outbound' ? h('span', { class: 'you' }, `${sender(conversation, me, agentName)}: `) : null, preview),
        unread ? h('span', { class: 'badge', 'aria-label': `${unread} unread`, 'data-testid': 'unread-badge' }, unread > 99 ? '99+' : String(unread)) : null),
      h('span', { class: 'conv-meta' },
        windowChip(conversation.window, now),
        mentionBadge(conversation),
        labelChips(conversation),
        conversation.status === 'resolved' ? h('span', { class: 'tag tag-resolved' }, 'Resolved') : null,
        optOutBadge(conversation),
        assignee ? h('span', { class: `tag tag-assignee${mine ? ' is-mine' : ''}`, title: `Assigned to ${agentName(assignee)}` }, icon('user'), mine ? 'You' : agentName(assignee)) : null)),
  ];
}

function label(conversation) {
  const parts = [contactName(conversation)];
  if (conversation.unread_count) parts.push(`${conversation.unread_count} unread`);
  if (conversation.last_message) parts.push(conversation.last_message.preview);
  parts.push(windowState(conversation.window).long);
  return parts.join(', ');
}

const signatures = new WeakMap();

export function renderList(listEl, conversations, { selectedId, me, agentName = sameName, now = new Date() }) {
  const existing = new Map();
  for (const li of [...listEl.children]) {
    if (li.dataset.id) existing.set(li.dataset.id, li); else li.remove();
  }
  const wanted = new Set(conversations.map((c) => c.id));
  for (const [id, li] of existing) if (!wanted.has(id)) li.remove();

  let previous = null;
  for (const conversation of conversations) {
    let li = existing.get(conversation.id);
    const names = [conversation.last_agent_reply?.agent_id, conversation.assignee_id].map((id) => id && agentName(id));
    const signature = JSON.stringify([conversation, me && me.agent_id, names]);
    if (!li) {
      const link = h('a', { class: 'conv', href: `#/c/${encodeURIComponent(conversation.id)}`, 'data-testid': 'conversation-item', dataset: { conversationId: conversation.id } });
      li = h('li', { dataset: { id: conversation.id } }, link);
    }
    const link = li.firstElementChild;
    if (signatures.get(li) !== signature) {
      fill(link, ...itemChildren(conversation, me, now, agentName));
      link.setAttribute('aria-label', label(conversation));
      link.classList.toggle('has-unread', Boolean(conversation.unread_count));
      signatures.set(li, signature);
    }
    const selected = conversation.id === selectedId;
    link.classList.toggle('is-selected', selected);
    if (selected) link.setAttribute('aria-current', 'true'); else link.removeAttribute('aria-current');
    // Move only when out of place: moving a focused node would blur it.
    const expectedNext = previous ? previous.nextElementSibling : listEl.firstElementChild;
    if (expectedNext !== li) {
      const hadFocus = li.contains(document.activeElement);
      if (previous) previous.after(li); else listEl.prepend(li);
      if (hadFocus) link.focus({ preventScroll: true });
    }
    previous = li;
  }
}

export function skeletonList(listEl, count = 8) {
  fill(listEl, ...Array.from({ length: count }, () =>
    h('li', { class: 'skeleton', 'aria-hidden': 'true' },
      h('span', { class: 'avatar sk' }), h('span', { class: 'sk-lines' }, h('span', { class: 'sk w60' }), h('span', { class: 'sk w90' })))));
}

export { formatNumber };
