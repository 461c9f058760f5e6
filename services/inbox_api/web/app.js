// The web inbox: wires the modules in js/ together and boots.
import { api } from './js/api.js';
import { loadAssignees, syncTeamFilter } from './js/assign.js';
import { hue, initials } from './js/format.js';
import { loadList, setFilter } from './js/conversations.js';
import { startStream } from './js/live.js';
import { openNewConversation, setupNewConversation } from './js/newconversation.js';
import { startLabels } from './js/labels.js';
import { startNotices } from './js/notices.js';
import { onKey, route, tick } from './js/routing.js';
import { acceptInvitationFromLink, closeMenu, loadAgents, openMenu, setupSignIn, show, showSignIn, signInWithLink, signOut } from './js/session.js';
import { $, selected, state } from './js/state.js';
import { startTakingTurns } from './js/turns.js';
import { markRead, redrawNames } from './js/threadview.js';

function setupApp() {
  $('filters').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-filter]');
    if (button) { setFilter(button.dataset.filter); syncTeamFilter(); }
  });
  $('filters').addEventListener('team-filter', (event) => setFilter(event.detail));
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
  setupNewConversation();
  $('new-conversation').addEventListener('click', openNewConversation);
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
  // Only admins manage people (the API refuses agents anyway).
  $('nav-team').hidden = me.role !== 'admin';
  $('nav-audit').hidden = me.role !== 'admin';
  state.conversations = [];
  state.agents = new Map([[me.agent_id, me.display_name || me.agent_id]]);
  loadAgents().then(redrawNames);
  loadAssignees().then(redrawNames);
  loadList();
  startLabels(() => { state.conversations = []; loadList(); });
  startStream();
  startNotices();
  startTakingTurns();
  route();
}

async function boot() {
  setupSignIn(startApp);
  setupApp();
  // An invitation's link (`#invite=...`): choose a password, then the inbox.
  if (acceptInvitationFromLink(startApp)) return;
  // A single-use sign-in link (`#signin=...`, printed by ./dev run or made by an admin): the
  // token is in the fragment (never sent to a server's log); drop it from the address bar and
  // history at once, then exchange it for the session cookie.
  const linkMatch = location.hash.match(/^#signin=([^&]+)/);
  if (linkMatch) {
    history.replaceState(null, '', location.pathname + location.search);
    try {
      await signInWithLink(decodeURIComponent(linkMatch[1]));
      startApp();
      return;
    } catch (err) {
      showSignIn(err.status === 401 ? 'That sign-in link was already used or has expired; ask for a new one, or sign in below.' : err.detail);
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
