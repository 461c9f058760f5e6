// Round-robin (docs/inbox-api.md, "Teams, assignment and notes"): the signed-in agent's "Take
// new conversations" in the account menu (PUT /round-robin/me), and the admin's switch for the
// whole rotation on the Team page (PUT /round-robin).
import { api } from './api.js';
import { fill, h, toast } from './dom.js';
import { $ } from './state.js';

// The account menu's toggle: shown once the rotation is known.
export async function startTakingTurns() {
  const button = $('take-turns');
  if (!button) return;
  button.onclick = async () => {
    const want = button.getAttribute('aria-checked') !== 'true';
    button.disabled = true;
    try {
      const rotation = await api.setTakingTurns(want);
      drawToggle(rotation);
      toast(want ? (rotation.enabled ? 'You take new conversations in turn' : 'You will take new conversations once an admin turns round-robin on') : 'You no longer take new conversations');
    } catch (err) {
      if (err.status !== 401) toast(err.detail, 'error');
    } finally {
      button.disabled = false;
    }
  };
  try {
    drawToggle(await api.roundRobin());
  } catch {
    button.hidden = true;
  }
}

function drawToggle(rotation) {
  const button = $('take-turns');
  button.hidden = false;
  button.setAttribute('aria-checked', String(rotation.available));
  button.title = rotation.enabled ? 'New conversations are assigned in turn to the agents who take them' : 'Round-robin is off: an admin turns it on from the Team page';
  $('take-turns-state').textContent = rotation.available ? 'On' : 'Off';
}

// The Team page's card: the admin's switch and who takes turns. `names`: agent id -> name.
export function rotationSection(names) {
  const body = h('div', { class: 'rotation-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const section = h('section', { class: 'invite-card', 'aria-labelledby': 'rotation-title', 'data-testid': 'rotation-section' },
    h('div', { class: 'card-head' }, h('h2', { id: 'rotation-title' }, 'Round-robin assignment')), body);
  const draw = (rotation) => {
    const input = h('input', { type: 'checkbox', role: 'switch', id: 'rotation-switch', checked: rotation.enabled, 'data-testid': 'rotation-switch',
      onchange: async (event) => {
        input.disabled = true;
        try {
          draw(await api.setRoundRobin(event.target.checked));
          toast(event.target.checked ? 'Round-robin is on' : 'Round-robin is off');
        } catch (err) {
          event.target.checked = !event.target.checked;
          if (err.status !== 401) toast(err.detail, 'error');
        } finally {
          input.disabled = false;
        }
      } });
    const who = rotation.members.map((id) => names.get(id) || id);
    fill(body,
      h('label', { class: 'switch-row', for: 'rotation-switch' }, input,
        h('span', {}, h('strong', {}, 'Assign new conversations in turn'),
          h('span', { class: 'muted' }, ' A conversation a customer starts goes to the next agent who takes new conversations (each agent opts in from their account menu).'))),
      h('p', { class: 'muted', 'data-testid': 'rotation-members' }, who.length ? `Taking turns: ${who.join(', ')}.` : 'Nobody takes new conversations yet.'));
  };
  api.roundRobin().then(draw).catch((err) => { if (err.status !== 401) fill(body, h('p', { class: 'row-error' }, err.detail)); });
  return section;
}
