// Sign-in (API key -> session cookie), sign-out, the account menu, and the team's names.
import { api, onUnauthorized } from './api.js';
import { $, state } from './state.js';
import { leavePage } from './pages.js';

export function show(which) {
  $('boot').hidden = true;
  $('signin').hidden = which !== 'signin';
  $('app').hidden = which !== 'app';
}

// What else ends with the session (the live stream): the modules register here, so that this one
// imports none of them.
const sessionEndListeners = new Set();
export function onSessionEnd(fn) { sessionEndListeners.add(fn); }

export function showSignIn(message) {
  sessionEndListeners.forEach((fn) => fn());
  leavePage();
  state.me = null;
  show('signin');
  const error = $('signin-error');
  error.hidden = !message;
  error.textContent = message || '';
  $('signin-key').focus();
}

export async function signIn(key) {
  await api.signIn(key.trim());
  state.me = await api.me();
}

export function setupSignIn(onSignedIn) {
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
      onSignedIn();
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

export async function signOut() {
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

export function openMenu() {
  $('account-menu').hidden = false;
  $('account-button').setAttribute('aria-expanded', 'true');
  $('signout').focus();
}
export function closeMenu() {
  $('account-menu').hidden = true;
  $('account-button').setAttribute('aria-expanded', 'false');
}

// The team's display names (GET /agents), for "Bea replied", bubble authors and list previews.
// Best effort: without them the inbox shows agent ids, as the data has them.
export async function loadAgents() {
  try {
    const answer = await api.agents();
    state.agents = new Map(answer.items.map((a) => [a.id, a.display_name]));
    return true;
  } catch {
    return false;
  }
}
