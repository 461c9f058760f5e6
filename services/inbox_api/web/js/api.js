// The inbox API client (docs/inbox-api.md). The session cookie carries the credential.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `Request failed (${status})`);
    this.status = status;
    this.code = (body && body.error) || 'http_error';
    this.detail = (body && body.detail) || this.message;
    this.hint = body && body.hint;
    this.reason = body && body.reason;
    this.field = body && body.field;
    this.body = body || {};
  }
}

const listeners = new Set();
export function onUnauthorized(fn) { listeners.add(fn); }

export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function request(method, path, { body, raw, form, contentType, headers = {}, quiet401 = false } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (form !== undefined) {
    // FormData: the browser writes multipart/form-data with its boundary.
    init.body = form;
  } else if (raw !== undefined) {
    // Raw text as it is (a CSV audience goes up as text/csv, unparsed).
    init.headers['Content-Type'] = contentType || 'text/plain';
    init.body = raw;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, { error: 'network', detail: 'The inbox server cannot be reached. Check your connection.' });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && !quiet401) listeners.forEach((fn) => fn(error));
    throw error;
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  signIn: (apiKey) => request('POST', '/session', { body: { api_key: apiKey }, quiet401: true }),
  signInWithLink: (linkToken) => request('POST', '/session', { body: { link_token: linkToken }, quiet401: true }),
  signInWithPassword: (email, password) => request('POST', '/session', { body: { email, password }, quiet401: true }),
  // People (docs/inbox-api.md, "People and roles"): invitations and deactivation are admins'.
  invite: (body) => request('POST', '/agents/invitations', { body }),
  invitation: (token) => request('GET', `/invitations/${enc(token)}`, { quiet401: true }),
  acceptInvitation: (token, password) => request('POST', `/invitations/${enc(token)}`, { body: { password }, quiet401: true }),
  deactivateAgent: (id) => request('POST', `/agents/${enc(id)}/deactivate`),
  // API keys (admins; docs/inbox-api.md, "Keys and channels"): a new key's secret is shown once.
  keys: () => request('GET', '/keys'),
  createKey: (body) => request('POST', '/keys', { body }),
  revokeKey: (id) => request('DELETE', `/keys/${enc(id)}`),
  // Round-robin: the admin's switch, and the signed-in agent's "take new conversations".
  roundRobin: () => request('GET', '/round-robin'),
  setRoundRobin: (enabled) => request('PUT', '/round-robin', { body: { enabled } }),
  setTakingTurns: (available) => request('PUT', '/round-robin/me', { body: { available } }),
  signOut: () => request('DELETE', '/session', { quiet401: true }),
  me: () => request('GET', '/me', { quiet401: true }),
  agents: () => request('GET', '/agents'),
  conversations: ({ filter, q, cursor, label, limit = 50 }) => {
    // A team's conversations: filter "team:<id>" is the API's team=<id> (assign.js).
    const team = filter && filter.startsWith('team:') ? filter.slice(5) : null;
    const params = new URLSearchParams({ filter: team ? 'all' : filter, limit: String(limit) });
    if (team) params.set('team', team);
    if (q) params.set('q', q);
    if (cursor) params.set('cursor', cursor);
    if (label) params.set('label', label);
    return request('GET', `/conversations?${params}`);
  },
  conversation: (id) => request('GET', `/conversations/${enc(id)}`),
  teams: () => request('GET', '/teams'),
  notes: (id) => request('GET', `/conversations/${enc(id)}/notes`),
  addNote: (id, text) => request('POST', `/conversations/${enc(id)}/notes`, { body: { text } }),
  readMentions: (id) => request('POST', `/conversations/${enc(id)}/mentions/read`),
  messages: (id, before, limit = 50) => {
    const params = new URLSearchParams({ limit: String(limit) });
    if (before) params.set('before', before);
    return request('GET', `/conversations/${enc(id)}/messages?${params}`);
  },
  send: (id, body, key) =>
    request('POST', `/conversations/${enc(id)}/messages`, { body, headers: { 'Idempotency-Key': key } }),
  // A file (docs/inbox-api.md, attachments): uploaded to WhatsApp, then sent by its media id.
  attach: (id, { file, caption, reply_to: replyTo }, key) => {
    const form = new FormData();
    form.append('file', file, file.name);
    if (caption) form.append('caption', caption);
    if (replyTo) form.append('reply_to', replyTo);
    return request('POST', `/conversations/${enc(id)}/attachments`, { form, headers: { 'Idempotency-Key': key } });
  },
  // No body: the server marks the customer's newest message read (and tells WhatsApp, once).
  markRead: (id) =>
    request('POST', `/conversations/${enc(id)}/read`, { headers: { 'Idempotency-Key': newIdempotencyKey() } }),
  // WhatsApp's typing indicator while the agent types (the server allows one per 10 s).
  typing: (id) => request('POST', `/conversations/${enc(id)}/typing`),
  // Presence (docs/inbox-api.md, "Presence"): the open thread's heartbeat answers who is there.
  // Quiet on 401: a background poll leaves saying "signed out" to the user's own calls.
  beatPresence: (id, state) => request('PUT', `/conversations/${enc(id)}/presence`, { body: { state }, quiet401: true }),
  presence: (id) => request('GET', `/conversations/${enc(id)}/presence`, { quiet401: true }),
  // Best effort, and it must outlive a closing tab: keepalive, no error handling.
  leavePresence: (id) => fetch(`/api/v1/conversations/${enc(id)}/presence`, { method: 'DELETE', credentials: 'same-origin', keepalive: true }).catch(() => {}),
  setStatus: (id, status) =>
    request('POST', `/conversations/${enc(id)}/status`, { body: { status }, headers: { 'Idempotency-Key': newIdempotencyKey() } }),
  assign: (id, assigneeId) =>
    request('POST', `/conversations/${enc(id)}/assignee`, { body: { assignee_id: assigneeId }, headers: { 'Idempotency-Key': newIdempotencyKey() } }),
  react: (id, messageId, emoji) =>
    request('POST', `/conversations/${enc(id)}/reactions`, { body: { message_id: messageId, emoji }, headers: { 'Idempotency-Key': newIdempotencyKey() } }),
  // Download a customer's media into the archive again (docs/media.md).
  retryMedia: (mediaId) =>
    request('POST', `/media/${enc(mediaId)}/retry`, { headers: { 'Idempotency-Key': newIdempotencyKey() } }),
  templates: () => request('GET', '/templates?status=APPROVED'),
  // Meta's notices about the tenant's accounts and numbers (the banner).
  accountNotices: () => request('GET', '/account/notices'),
  openConversation: (body, key) =>
    request('POST', '/conversations', { body, headers: { 'Idempotency-Key': key } }),

  // Templates (docs/templates.md)
  allTemplates: () => request('GET', '/templates'),
  template: (id) => request('GET', `/templates/${enc(id)}`),
  createTemplate: (body) => request('POST', '/templates', { body }),
  editTemplate: (id, body) => request('PUT', `/templates/${enc(id)}`, { body }),
  deleteTemplate: (id) => request('DELETE', `/templates/${enc(id)}`),
  previewTemplate: (draft) => request('POST', '/templates/preview', { body: draft }),
  previewStored: (id, values = {}) => request('POST', `/templates/${enc(id)}/preview`, { body: { values } }),
  syncTemplates: () => request('POST', '/templates/sync'),

  // Campaigns (docs/campaigns.md)
  campaigns: ({ cursor, limit = 50 } = {}) => {
    const params = new URLSearchParams({ limit: String(limit) });
    if (cursor) params.set('cursor', cursor);
    return request('GET', `/campaigns?${params}`);
  },
  campaign: (id) => request('GET', `/campaigns/${enc(id)}`),
  createCampaign: (body, key) => request('POST', '/campaigns', { body, headers: { 'Idempotency-Key': key } }),
  // The form lists the rows it could not add, so it asks for the valid ones to go.
  uploadAudience: (id, csv) => request('POST', `/campaigns/${enc(id)}/recipients?invalid_rows=skip`, { raw: csv, contentType: 'text/csv' }),
  scheduleCampaign: (id, schedule) => request('PUT', `/campaigns/${enc(id)}/schedule`, { body: schedule }),
  unscheduleCampaign: (id) => request('DELETE', `/campaigns/${enc(id)}/schedule`),
  campaignAction: (id, action) => request('POST', `/campaigns/${enc(id)}/${action}`),
  report: (id, { status, cursor, limit = 100 } = {}) => {
    const params = new URLSearchParams({ limit: String(limit) });
    if (status) params.set('status', status);
    if (cursor) params.set('cursor', cursor);
    return request('GET', `/campaigns/${enc(id)}/report?${params}`);
  },
  reportCsvUrl: (id) => `/api/v1/campaigns/${enc(id)}/report.csv`,

  // Labels, canned replies, the audit log (docs/inbox-api.md)
  labels: () => request('GET', '/labels'),
  createLabel: (body) => request('POST', '/labels', { body }),
  putLabel: (id, labelId) => request('POST', `/conversations/${enc(id)}/labels/${enc(labelId)}`),
  removeLabel: (id, labelId) => request('DELETE', `/conversations/${enc(id)}/labels/${enc(labelId)}`),
  cannedReplies: (q) => request('GET', `/canned-replies?${new URLSearchParams(q ? { q } : {})}`),
  renderCanned: (id, conversationId) => request('GET', `/canned-replies/${enc(id)}/render?${new URLSearchParams({ conversation_id: conversationId })}`),
  audit: (filters, cursor) => request('GET', `/audit?${auditParams(filters, cursor)}`),
  auditCsvUrl: (filters) => `/api/v1/audit.csv?${auditParams(filters)}`,
};

function auditParams(filters = {}, cursor = null) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  if (cursor) params.set('cursor', cursor);
  return params;
}
