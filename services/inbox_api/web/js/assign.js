// Assignment: the thread header's dropdown (an agent, a team, or nobody), the list's team
// filter, and teams' names wherever an assignee id is shown ("team:<id>").
import { api } from './api.js';
import { h } from './dom.js';
import { $, state } from './state.js';

const TEAM = 'team:';
let people = []; // active agents: [{id, display_name}]

// Teams and active agents, once at start (and again on demand): team names join agentName().
export async function loadAssignees() {
  try {
    const [teams, agents] = await Promise.all([api.teams(), api.agents()]);
    state.teams = new Map(teams.items.map((t) => [t.assignee_id, t.name]));
    people = agents.items.filter((a) => a.kind === 'agent' && a.active !== false);
    drawTeamFilter();
    return true;
  } catch {
    return false;
  }
}

export const isTeam = (id) => typeof id === 'string' && id.startsWith(TEAM);

// The header's "Assigned to" select; choosing calls onAssign(id | null).
export function assignSelect(c, onAssign) {
  const current = c.assignee_id || '';
  const option = (value, label) => h('option', { value, selected: value === current }, label);
  const teams = [...(state.teams || new Map())];
  const known = current === '' || people.some((p) => p.id === current) || teams.some(([id]) => id === current);
  const select = h('select', { class: 'assign-select', 'aria-label': 'Assigned to', 'data-testid': 'assign-select' },
    option('', 'Unassigned'),
    known ? null : option(current, isTeam(current) ? 'Deleted team' : current),
    h('optgroup', { label: 'Agents' }, people.map((p) => option(p.id, state.me && p.id === state.me.agent_id ? `${p.display_name} (you)` : p.display_name))),
    teams.length ? h('optgroup', { label: 'Teams' }, teams.map(([id, name]) => option(id, `Team ${name}`))) : null);
  select.addEventListener('change', () => onAssign(select.value || null));
  return select;
}

// The list's team filter: a select under the filter buttons (filter value "team:<id>").
function drawTeamFilter() {
  const nav = $('filters');
  if (!nav) return;
  let select = $('team-filter');
  const teams = [...(state.teams || new Map())];
  if (!teams.length) { if (select) select.parentElement.remove(); return; }
  if (!select) {
    select = h('select', { id: 'team-filter', class: 'team-filter', 'aria-label': 'Team', 'data-testid': 'team-filter' });
    select.addEventListener('change', () => {
      nav.dispatchEvent(new CustomEvent('team-filter', { detail: select.value || 'all' }));
    });
    // Its own row under the buttons: the buttons' row scrolls sideways and would hide it.
    nav.after(h('div', { class: 'team-filter-row' }, select));
  }
  const value = isTeam(state.filter) ? state.filter : '';
  select.replaceChildren(h('option', { value: '' }, 'Filter by team…'),
    ...teams.map(([id, name]) => h('option', { value: id, selected: id === value }, `Team ${name}`)));
}

// A filter button was chosen: the team select shows no team.
export function syncTeamFilter() {
  const select = $('team-filter');
  if (select && !isTeam(state.filter)) select.value = '';
}
