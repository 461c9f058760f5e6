// What the page knows: the signed-in agent, the list, the open thread, the agents' names.

export const $ = (id) => document.getElementById(id);

export const state = {
  me: null,
  filter: 'all',
  q: '',
  conversations: [],
  nextCursor: null,
  listLoading: false,
  listRequest: 0,
  selectedId: null,
  thread: null, // {id, items, nextBefore, loadingOlder, pending, request}
  templates: null,
  stream: null,
  agents: new Map(), // agent id -> display name
  teams: new Map(), // "team:<id>" -> team name (assign.js)
};

export function selected() {
  return state.conversations.find((c) => c.id === state.selectedId) || (state.thread && state.thread.conversation) || null;
}

// Agents' names by id (GET /agents); an id nobody knows shows as itself.
export function agentName(id) {
  return (id && (state.agents.get(id) || state.teams.get(id))) || id;
}

// A template belongs to one WhatsApp Business Account, and a number sends only its account's
// templates: the account of each number comes with GET /me.
export function accountOf(phoneNumberId) {
  const channel = ((state.me && state.me.channels) || []).find((c) => c.phone_number_id === phoneNumberId);
  return (channel && channel.waba_id) || null;
}

export function templatesOfNumber(templates, phoneNumberId) {
  const waba = accountOf(phoneNumberId);
  return waba ? templates.filter((t) => t.waba_id === waba) : [];
}
