// What happened to a message after it was sent, and lines that are no messages (issue 15): the
// "edited" label with the earlier versions, the WhatsApp Business app as the sender, and calls.
// A deleted message's text never reaches the browser (the API returns none); thread.js says
// "This message was deleted".
import { h, icon } from './dom.js';
import { clockTime, fullTime, parseTime } from './format.js';

// "edited": a button when earlier versions are known; a click shows them under the text.
export function editedLabel(message) {
  if (!message.edited || message.deleted) return null;
  const versions = message.edit_history || [];
  const when = message.edited_at ? `Edited ${fullTime(message.edited_at)}` : 'Edited';
  if (!versions.length) return h('span', { class: 'edited', title: when }, 'edited');
  return h('button', {
    type: 'button', class: 'edited is-button', title: `${when}. Show the earlier versions`, 'aria-expanded': 'false',
    'data-testid': 'edited-button',
    onclick: (event) => toggleHistory(event.currentTarget, versions),
  }, 'edited');
}

function toggleHistory(button, versions) {
  const bubble = button.closest('.bubble');
  const open = bubble.querySelector('.edit-history');
  if (open) {
    open.remove();
    button.setAttribute('aria-expanded', 'false');
    return;
  }
  const list = h('ol', { class: 'edit-history', 'data-testid': 'edit-history', 'aria-label': 'Earlier versions, oldest first' },
    versions.map((v) => {
      const at = parseTime(v.at);
      return h('li', {},
        h('time', { datetime: v.at || '', title: fullTime(v.at) }, at ? clockTime(at) : ''),
        h('span', { class: 'edit-text', dir: 'auto' }, v.text || `(${v.type})`));
    }));
  bubble.querySelector('.meta').before(list);
  button.setAttribute('aria-expanded', 'true');
}

// A message the business sent from the WhatsApp Business app on the same number.
export function fromAppLabel(message) {
  if (!message.from_app) return null;
  return h('span', { class: 'from-app', 'data-testid': 'from-app', title: 'Sent from the WhatsApp Business app' }, icon('phone'), 'App');
}

const CALL_CLASS = { missed: 'is-missed', declined: 'is-missed', unanswered: 'is-missed' };

// One line per call: "Missed call", "Call answered · 3 min 12 s", "Outgoing call · ...".
export function callNode(message) {
  const call = message.call || {};
  const at = parseTime(message.sent_at);
  const side = call.direction === 'outbound' ? 'outbound' : 'inbound';
  return h('li', {
    class: `msg call ${CALL_CLASS[call.outcome] || ''}`, 'data-testid': 'call-line',
    dataset: { id: message.id, direction: 'system', outcome: call.outcome || '', side },
  }, h('span', { class: 'call-pill' }, icon('phone', side === 'outbound' ? 'Outgoing call' : 'Incoming call'),
    h('span', {}, message.text || 'Call'),
    h('time', { datetime: message.sent_at || '', title: fullTime(message.sent_at) }, at ? clockTime(at) : '')));
}
