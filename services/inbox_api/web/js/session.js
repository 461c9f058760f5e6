// Sign-in (email and password, or an API key -> session cookie), an invitation's acceptance,
// sign-out, the account menu, and the team's names.
import { api, onUnauthorized } from './api.js';
import { $, state } from './state.js';
import { leavePage } from './pages.js';

export function show(which) {
  $('boot').hidden = true;
  $('signin').hidden = which !== 'signin';
  $('invite').hidden = which !== 'invite';
  $('app').hidden = which !== 'app';
}

// Which way the sign-in form asks: 'password' (people) or 'key' (API keys, e.g. a service's).
let mode = 'password';
function setMode(next) {
  mode = next;
  $('signin-by-password').hidden = mode !== 'password';
  $('signin-by-key').hidden = mode !== 'key';
  $('signin-mode').textContent = mode === 'password' ? 'Use an API key instead' : 'Use email and password';
  $('signin-error').hidden = true;
  (mode === 'password' ? $('signin-email') : $('signin-key')).focus();
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
  (mode === 'password' ? $('signin-email') : $('signin-key')).focus();
}

export async function signIn(key) {
  await api.signIn(key.trim());
  state.me = await api.me();
}

// A single-use sign-in link (`#signin=<token>`, from ./dev run or an admin): exchanged once for
// the session cookie.
export async function signInWithLink(token) {
  await api.signInWithLink(token);
  state.me = await api.me();
}

async function signInWithPassword(email, password) {
  await api.signInWithPassword(email.trim(), password);
  state.me = await api.me();
}

// What the form says when a sign-in is refused: the server's own words for a throttle (it says
// how long to wait) or a deactivated account; one sentence for a wrong credential.
function refusal(err) {
  if (err.status === 429 || err.code === 'agent_deactivated') return err.detail;
  if (err.status === 401 || err.status === 422) {
    return mode === 'password'
      ? 'Wrong email or password.'
      : 'That key was not accepted. Check that it is complete and has not been revoked.';
  }
  return err.detail;
}

export function setupSignIn(onSignedIn) {
  const form = $('signin-form');
  const input = $('signin-key');
  const submit = $('signin-submit');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = $('signin-error');
    const key = input.value.trim();
    const email = $('signin-email').value.trim();
    const password = $('signin-password').value;
    const missing = mode === 'key'
      ? (!key && ['Paste your API key first.', input])
      : (!email && ['Enter your email first.', $('signin-email')]) || (!password && ['Enter your password.', $('signin-password')]);
    if (missing) {
      error.textContent = missing[0];
      error.hidden = false;
      missing[1].focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      if (mode === 'key') await signIn(key);
      else await signInWithPassword(email, password);
      input.value = '';
      $('signin-password').value = '';
      onSignedIn();
    } catch (err) {
      error.textContent = refusal(err);
      error.hidden = false;
      if (mode === 'key') input.select(); else $('signin-password').select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  $('signin-mode').addEventListener('click', () => setMode(mode === 'password' ? 'key' : 'password'));
  // A refusal stays until the person types again (then it would be about the old input).
  form.addEventListener('input', () => { $('signin-error').hidden = true; });
  $('signin-reveal').addEventListener('click', (event) => {
    const showing = input.type === 'text';
    input.type = showing ? 'password' : 'text';
    event.currentTarget.setAttribute('aria-pressed', String(!showing));
    event.currentTarget.setAttribute('aria-label', showing ? 'Show key' : 'Hide key');
  });
  onUnauthorized(() => showSignIn('Your session has ended. Sign in again.'));
}

// ---------------------------------------------------------------- an invitation's link

// `#invite=<token>` (the link an admin copied from the Team page, or the command line printed):
// the person chooses a password and is signed in. True when the page is showing the invitation.
export function acceptInvitationFromLink(onSignedIn) {
  const match = location.hash.match(/^#invite=([^&]+)/);
  if (!match) return false;
  const token = decodeURIComponent(match[1]);
  const password = $('invite-password');
  const repeat = $('invite-repeat');
  const error = $('invite-error');
  const submit = $('invite-submit');
  const say = (text, field) => { error.textContent = text; error.hidden = false; field?.focus(); };
  $('invite-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (password.value.length < 10) { say('Choose a password of at least 10 characters.', password); return; }
    if (password.value !== repeat.value) { say('The two passwords differ; type the same one twice.', repeat); return; }
    submit.disabled = true;
    submit.textContent = 'Joining…';
    try {
      await api.acceptInvitation(token, password.value);
      // The link is used up: drop it from the address bar and history.
      history.replaceState(null, '', location.pathname + location.search);
      state.me = await api.me();
      password.value = repeat.value = '';
      onSignedIn();
    } catch (err) {
      say(err.detail, err.field === 'password' ? password : null);
    } finally {
      submit.disabled = false;
      submit.textContent = 'Join the team';
    }
  });
  show('invite');
  password.focus();
  // Who it is for (a used or expired link says so before anyone types a password).
  api.invitation(token).then((who) => {
    const el = $('invite-who');
    el.textContent = `${who.name} (${who.email}), invited as ${who.role === 'admin' ? 'an admin' : 'an agent'}.`;
    el.hidden = false;
  }, (err) => {
    say(err.detail, null);
    submit.disabled = true;
  });
  return true;
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
