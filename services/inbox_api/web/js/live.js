// Live updates: the event stream, applying changes, resync after a gap.
import { api } from './api.js';
import { announce } from './dom.js';
import { contactName } from './format.js';
import { $, state } from './state.js';
import { loadList } from './conversations.js';
import { showSignIn, loadAgents, onSessionEnd } from './session.js';
import { applyConversation, markRead, redrawNames, refreshThread } from './threadview.js';

export function setLive(status) {
  const el = $('live');
  el.dataset.state = status;
  el.querySelector('.live-text').textContent = { live: 'Live', connecting: 'Connecting', reconnecting: 'Reconnecting…', offline: 'Offline' }[status];
}

export function onChanged(data) {
  const { message_ids: messageIds, ...c } = data;
  const old = state.conversations.find((x) => x.id === c.id);
  if (!applyConversation(c)) return;
  const agent = c.last_agent_reply && c.last_agent_reply.agent_id;
  if (agent && !state.agents.has(agent)) loadAgents().then(redrawNames); // a key made after sign-in
  if (state.thread && state.thread.id === c.id) {
    refreshThread();
    if (c.unread_count > 0) markRead(c);
  } else if (c.last_message && c.last_message.direction === 'inbound'
      && (!old || !old.last_message || old.last_message.at !== c.last_message.at)) {
    announce(`New message from ${contactName(c)}: ${c.last_message.preview}`);
  }
  void messageIds;
}

export function startStream() {
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

export function stopStream() {
  if (state.stream) state.stream.close();
  state.stream = null;
}
onSessionEnd(stopStream);

export function resync() {
  loadList();
  if (state.thread) {
    api.conversation(state.thread.id).then(applyConversation).catch(() => {});
    refreshThread();
  }
}
