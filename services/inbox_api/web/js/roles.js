// What the signed-in person's role lets them do in the page (docs/inbox-api.md, "People and
// roles"). The API refuses an agent anyway (403 admin_only); the page says so before they try:
// an admin's action stays in view but locked, with "Only admins can …" as its tooltip.
import { toast } from './dom.js';
import { state } from './state.js';

export const isAdmin = () => Boolean(state.me && state.me.role === 'admin');

// `what` finishes the sentence "Only admins can …" (e.g. "create templates").
export function adminOnly(el, what) {
  if (isAdmin()) return el;
  const reason = `Only admins can ${what}.`;
  el.setAttribute('aria-disabled', 'true');
  el.classList.add('is-locked');
  el.title = reason;
  el.dataset.adminOnly = 'true';
  if (el.tagName === 'A') el.removeAttribute('href');
  // Capture on the element runs before the action's own listener, which it stops.
  el.addEventListener('click', (event) => {
    event.preventDefault();
    event.stopImmediatePropagation();
    toast(`${reason} Ask an admin of your team.`, 'error');
  }, { capture: true });
  return el;
}
