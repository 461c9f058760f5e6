// Presence (docs/inbox-api.md, "Presence"): who else has the open thread, and who is typing.
// The state lives in the database (any replica answers): the thread beats with PUT while it is
// open and visible (every heartbeat_seconds, and at once when the agent starts or stops
// typing) and asks with GET in between; both answer who is there. Leaving, hiding the tab or
// closing it says goodbye (best effort: an entry nobody renews expires on the server anyway).
import { api } from './api.js';
import { fill, h } from './dom.js';
import { hue, initials } from './format.js';

const POLL_MS = 3_000;
// The server keeps "typing" 6 s after a typing beat; the client says typing this long after the
// last keystroke and renews it at most every TYPING_BEAT_MS while keys are pressed.
const TYPING_MS = 5_000;
const TYPING_BEAT_MS = 2_000;

function names(people) {
  const first = people.map((p) => p.display_name);
  if (first.length === 1) return first[0];
  if (first.length === 2) return `${first[0]} and ${first[1]}`;
  return `${first[0]}, ${first[1]} and ${first.length - 2} more`;
}

export function presenceText(others) {
  const typing = others.filter((p) => p.state === 'typing');
  const viewing = others.filter((p) => p.state !== 'typing');
  const parts = [];
  if (typing.length) parts.push(`${names(typing)} ${typing.length === 1 ? 'is' : 'are'} typing…`);
  if (viewing.length) parts.push(`${names(viewing)} ${viewing.length === 1 ? 'is' : 'are'} viewing`);
  return parts.join(' · ');
}

export class PresenceBar {
  constructor({ me }) {
    this.me = me;
    this.id = null;
    this.timer = null;
    this.typedAt = 0;
    this.lastBeat = 0;
    this.sentState = null;
    this.heartbeatMs = 10_000;
    this.busy = false;
    this.el = h('div', { class: 'presence-bar', hidden: true, 'data-testid': 'presence', 'aria-live': 'polite' });
    document.addEventListener('visibilitychange', () => {
      if (!this.id) return;
      if (document.visibilityState === 'visible') this.tick(true);
      else this.goodbye();
    });
    window.addEventListener('pagehide', () => this.goodbye());
  }

  // The agent opened a conversation (null: none).
  open(id) {
    if (id === this.id && this.timer) return;
    this.close();
    if (!id) return;
    this.id = id;
    this.typedAt = 0;
    this.timer = setInterval(() => this.tick(), POLL_MS);
    this.tick(true);
  }

  close() {
    this.goodbye();
    clearInterval(this.timer);
    this.timer = null;
    this.id = null;
    this.draw([]);
  }

  goodbye() {
    if (this.id && this.sentState) api.leavePresence(this.id);
    this.sentState = null;
  }

  // A keystroke in the reply box.
  typed() {
    const now = Date.now();
    this.typedAt = now;
    if (this.sentState !== 'typing' || now - this.lastBeat >= TYPING_BEAT_MS) this.tick(true);
  }

  // The reply went (or the box was emptied): typing ends now, not when it lapses.
  stoppedTyping() {
    if (!this.typedAt) return;
    this.typedAt = 0;
    this.tick(true);
  }

  state() { return Date.now() - this.typedAt < TYPING_MS ? 'typing' : 'viewing'; }

  // The thread is on screen: the tab is visible, the inbox is signed in and on its inbox page
  // (not Templates, Campaigns, ...).
  onScreen() {
    const app = document.getElementById('app');
    return document.visibilityState === 'visible' && !!app && !app.hidden && (app.dataset.page || 'inbox') === 'inbox';
  }

  async tick(force = false) {
    const id = this.id;
    if (!id) return;
    if (!this.onScreen()) { this.goodbye(); this.draw([]); return; }
    if (this.busy) { this.again = this.again || force; return; }
    const state = this.state();
    const beat = force || state !== this.sentState || Date.now() - this.lastBeat >= this.heartbeatMs;
    this.busy = true;
    try {
      const answer = beat ? await api.beatPresence(id, state) : await api.presence(id);
      if (this.id !== id) return;
      if (beat) { this.sentState = state; this.lastBeat = Date.now(); }
      if (answer.heartbeat_seconds) this.heartbeatMs = answer.heartbeat_seconds * 1000;
      this.draw(answer.items);
    } catch (err) {
      // Signed out: nothing to say until a thread is opened again. Anything else: a missed beat
      // only delays the bar; the next tick tries again.
      if (err.status === 401 && this.id === id) { this.sentState = null; this.draw([]); }
      // Not the team's conversation (the thread says so): stop asking.
      if (err.status === 404 && this.id === id) { clearInterval(this.timer); this.timer = null; }
    } finally {
      this.busy = false;
      if (this.again) { this.again = false; this.tick(true); }
    }
  }

  draw(items) {
    const me = this.me();
    const others = items.filter((p) => !me || p.agent_id !== me.agent_id);
    this.el.hidden = !others.length;
    const text = presenceText(others);
    fill(this.el,
      h('span', { class: 'presence-faces', 'aria-hidden': 'true' },
        others.slice(0, 4).map((p) => h('span', { class: `avatar avatar-xs${p.state === 'typing' ? ' is-typing' : ''}`, style: `--h:${hue(p.agent_id)}`, title: `${p.display_name} (${p.state})`, 'data-testid': 'presence-agent', dataset: { agent: p.agent_id, state: p.state } }, initials(p.display_name)))),
      h('span', { class: 'presence-text', 'data-testid': 'presence-text' }, text));
  }
}
