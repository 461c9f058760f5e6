// The campaigns page: the list (#/campaigns), the create form (#/campaigns/new) and one
// campaign (#/campaigns/<id>) with its actions, live progress and per-recipient report.
// Live: GET /campaigns/{id} every 2 s while scheduled, running or paused, and the report every
// 5 s while shown (the documented decision in docs/campaigns.md: no campaign events on SSE).
import { api } from './api.js';
import { ask } from './confirm.js';
import { fill, h, icon, toast } from './dom.js';
import { formatNumber, fullTime, listTime } from './format.js';
import { audienceErrors, audienceHistory, audienceResult, closeCampaignForm, openCampaignForm, readCsv, scheduleInputs } from './campaignform.js';
import { adminOnly, isAdmin } from './roles.js';
import { state } from './state.js';

const CAMPAIGN_POLL_MS = 2000;
const REPORT_POLL_MS = 5000;
const LIVE_STATES = ['scheduled', 'running', 'paused'];
const STATE = {
  draft: ['Draft', 'muted'], scheduled: ['Scheduled', 'info'], running: ['Sending', 'ok'], paused: ['Paused', 'warn'],
  completed: ['Completed', 'done'], cancelled: ['Cancelled', 'muted'], stopped: ['Stopped', 'bad'],
};
const REPORT_STATUS = {
  queued: ['Queued', 'muted'], pending: ['Sending', 'info'], sent: ['Sent', 'info'], delivered: ['Delivered', 'ok'],
  read: ['Read', 'read'], replied: ['Replied', 'done'], failed: ['Failed', 'bad'], skipped: ['Skipped', 'warn'],
  not_sent: ['Not sent', 'muted'], unknown: ['Unknown', 'warn'],
};
// The last upload's answer per campaign (its counts and ignored columns); the refused rows of
// every upload come with the campaign itself (GET /campaigns/{id}), so a reload keeps them.
const uploads = new Map();

const view = { el: null, id: null, campaign: null, report: null, filter: '', timers: {}, active: false, ui: null };

export function showCampaigns(el, arg) {
  leaveCampaigns();
  view.el = el;
  view.active = true;
  if (arg === 'new') {
    openCampaignForm(el, {
      onCreated: (campaign, audience, error) => {
        if (audience) uploads.set(campaign.id, audience);
        if (error) toast(error.detail, 'error');
        location.hash = `#/campaigns/${encodeURIComponent(campaign.id)}`;
      },
    });
  } else if (arg) {
    openDetail(arg);
  } else {
    openList();
  }
}

export function leaveCampaigns() {
  view.active = false;
  for (const t of Object.values(view.timers)) clearTimeout(t);
  view.timers = {};
  view.id = null;
  view.campaign = null;
  view.report = null;
  view.filter = '';
  closeCampaignForm();
}

// One timer per purpose: a newer call replaces the pending one, so loops never double up.
function later(purpose, fn, ms) {
  const id = view.id;
  clearTimeout(view.timers[purpose]);
  view.timers[purpose] = setTimeout(() => { if (view.active && view.id === id && !document.getElementById('app').hidden) fn(); }, ms);
}

export const stateChip = (s) => {
  const [label, tone] = STATE[s] || [s, 'muted'];
  return h('span', { class: `chip chip-${tone}${s === 'running' ? ' is-live' : ''}`, 'data-testid': 'campaign-state', dataset: { state: s } },
    h('span', { class: 'dot', 'aria-hidden': 'true' }), label);
};

function progress(c) {
  const n = c.counters || {};
  const done = (n.released || 0) + (n.skipped || 0) + (n.not_sent || 0);
  const total = n.recipients || 0;
  const pct = total ? Math.round((done / total) * 100) : 0;
  return { done, total, pct };
}

function bar(pct, label) {
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(pct), 'aria-label': label },
    h('span', { style: `width:${pct}%` }));
}

// ---------------------------------------------------------------- list

async function openList() {
  const list = h('div', { class: 'rows-wrap' }, h('p', { class: 'muted pad' }, 'Loading…'));
  fill(view.el, h('div', { class: 'page-inner' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-title' }, h('h1', { tabindex: '-1' }, 'Campaigns'),
        h('p', { class: 'page-sub' }, 'One approved template to many customers, paced within your number\'s limits.')),
      h('div', { class: 'page-actions' }, adminOnly(h('a', { class: 'btn btn-primary', href: '#/campaigns/new', 'data-testid': 'campaign-new' }, icon('plus'), 'New campaign'), 'create campaigns'))),
    list));
  const refresh = async () => {
    try {
      const page = await api.campaigns({ limit: 100 });
      if (!view.active || view.id) return;
      drawList(list, page.items);
      if (page.items.some((c) => LIVE_STATES.includes(c.state))) later('list', refresh, CAMPAIGN_POLL_MS * 2);
    } catch (err) {
      if (err.status !== 401) fill(list, h('p', { class: 'row-error pad' }, icon('alert'), err.detail));
    }
  };
  refresh();
}

function drawList(el, items) {
  if (!items.length) {
    fill(el, h('div', { class: 'rows-empty' }, icon('megaphone'), h('strong', {}, 'No campaigns yet'),
      h('span', { class: 'muted' }, isAdmin() ? 'Send an approved template to a list of customers from a CSV, now or at a time you choose.' : 'An admin of your team creates campaigns; you see their progress here.'),
      isAdmin() ? h('a', { class: 'btn btn-primary', href: '#/campaigns/new' }, icon('plus'), 'New campaign') : null));
    return;
  }
  fill(el, h('ul', { class: 'rows', 'aria-label': 'Campaigns', 'data-testid': 'campaign-list' }, items.map((c) => {
    const p = progress(c);
    return h('li', { class: 'row', 'data-testid': 'campaign-row', dataset: { id: c.id } },
      h('a', { class: 'row-link', href: `#/campaigns/${encodeURIComponent(c.id)}` },
        h('span', { class: 'row-main' },
          h('strong', { class: 'row-title' }, c.name),
          h('span', { class: 'row-meta' },
            h('span', { class: 'tag' }, icon('template'), `${c.template.name} · ${c.template.language}`),
            h('span', { class: 'muted', title: fullTime(c.created_at) }, `created ${listTime(c.created_at)}`),
            c.schedule && c.state === 'scheduled' ? h('span', { class: 'muted' }, icon('calendar'), scheduleText(c.schedule)) : null)),
        h('span', { class: 'row-progress' },
          bar(p.pct, `${c.name}: ${p.pct}% released`),
          h('span', { class: 'muted' }, `${p.done.toLocaleString()} of ${p.total.toLocaleString()}`)),
        h('span', { class: 'row-side' }, stateChip(c.state))));
  })));
}

function scheduleText(s) {
  const [date, time] = String(s.at).split('T');
  const when = new Date(`${date}T${time}`);
  const local = Number.isNaN(when.getTime()) ? s.at : when.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  return `${local} (${s.time_zone.replace(/_/g, ' ')})`;
}

// ---------------------------------------------------------------- one campaign

async function openDetail(id) {
  view.id = id;
  fill(view.el, h('div', { class: 'page-inner' }, h('p', { class: 'muted pad' }, 'Loading…')));
  try {
    view.campaign = await api.campaign(id);
  } catch (err) {
    if (err.status === 401 || view.id !== id) return;
    fill(view.el, h('div', { class: 'page-inner' }, h('a', { class: 'crumb', href: '#/campaigns' }, icon('back'), 'Campaigns'),
      h('div', { class: 'rows-empty' }, icon('alert'), h('strong', {}, err.status === 404 ? 'No such campaign' : 'The campaign could not be loaded'), h('span', { class: 'muted' }, err.detail))));
    return;
  }
  if (view.id !== id) return;
  buildDetail();
  drawCampaign();
  loadReport();
  pollCampaign();
}

function buildDetail() {
  const ui = {
    title: h('h1', { tabindex: '-1', 'data-testid': 'campaign-title' }),
    chip: h('span'),
    meta: h('div', { class: 'detail-meta' }),
    actions: h('div', { class: 'page-actions' }),
    banner: h('div'),
    audience: h('section', { class: 'card card-pad', 'aria-label': 'Audience' }),
    progress: h('section', { class: 'card card-pad', 'aria-label': 'Progress', 'data-testid': 'campaign-progress' }),
    totals: h('div', { class: 'tiles', 'data-testid': 'report-totals' }),
    filters: h('div', { class: 'chips-row', role: 'group', 'aria-label': 'Show recipients' }),
    table: h('div', { class: 'table-wrap' }),
    more: h('button', { type: 'button', class: 'btn btn-ghost btn-block', hidden: true, onclick: () => loadReport({ more: true }) }, 'Load more'),
    csv: h('a', { class: 'btn btn-outline btn-sm', href: api.reportCsvUrl(view.id), download: '', 'data-testid': 'report-csv' }, icon('download'), 'Download CSV'),
  };
  view.ui = ui;
  fill(view.el, h('div', { class: 'page-inner' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-title' },
        h('a', { class: 'crumb', href: '#/campaigns' }, icon('back'), 'Campaigns'),
        h('div', { class: 'title-line' }, ui.title, ui.chip),
        ui.meta),
      ui.actions),
    ui.banner, ui.audience, ui.progress,
    h('section', { class: 'card card-pad', 'aria-label': 'Report' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Report'), ui.csv),
      ui.totals, ui.filters, ui.table, ui.more)));
}

function drawCampaign() {
  const c = view.campaign;
  const ui = view.ui;
  ui.title.textContent = c.name;
  fill(ui.chip, stateChip(c.state));
  const channel = ((state.me && state.me.channels) || []).find((x) => x.phone_number_id === c.business_phone_number_id);
  fill(ui.meta,
    h('span', {}, icon('template'), `${c.template.name} · ${c.template.language}${c.template.category ? ` · ${c.template.category.toLowerCase()}` : ''}`),
    h('span', {}, icon('chat'), `From ${channel ? (channel.display_number || formatNumber(channel.display_phone_number)) : c.business_phone_number_id}`),
    c.schedule ? h('span', {}, icon('calendar'), scheduleText(c.schedule)) : null,
    c.started_at ? h('span', { title: fullTime(c.started_at) }, `started ${listTime(c.started_at)}`) : h('span', { title: fullTime(c.created_at) }, `created ${listTime(c.created_at)}`));
  drawActions(c);
  drawBanner(c);
  drawAudience(c);
  drawProgress(c);
}

// A campaign's changes are admins': an agent sees them locked, with the reason as tooltip.
function actionButton(label, iconName, testid, onclick, kind = 'btn-outline') {
  return adminOnly(h('button', { type: 'button', class: `btn ${kind}`, 'data-testid': testid, onclick }, icon(iconName), label), 'change campaigns');
}

function drawActions(c) {
  const empty = !(c.counters && c.counters.queued);
  const buttons = [];
  if (c.state === 'draft' || c.state === 'scheduled') buttons.push(actionButton('Start now', 'play', 'campaign-start', () => act('start'), 'btn-primary'));
  if (c.state === 'draft') buttons.push(actionButton('Schedule…', 'calendar', 'campaign-schedule', toggleSchedule));
  if (c.state === 'scheduled') buttons.push(actionButton('Unschedule', 'calendar', 'campaign-unschedule', () => act('unschedule')));
  if (c.state === 'running' || c.state === 'scheduled') buttons.push(actionButton('Pause', 'pause', 'campaign-pause', () => act('pause')));
  if (c.state === 'paused') buttons.push(actionButton('Resume', 'play', 'campaign-resume', () => act('resume'), 'btn-primary'));
  if (['draft', 'scheduled', 'running', 'paused'].includes(c.state)) buttons.push(actionButton('Cancel', 'stop', 'campaign-cancel', () => act('cancel'), 'btn-ghost'));
  fill(view.ui.actions, buttons);
  const start = view.ui.actions.querySelector('[data-testid="campaign-start"]');
  if (start && empty) { start.disabled = true; start.title = 'Add recipients first'; }
}

function drawBanner(c) {
  let banner = null;
  if (c.state === 'stopped' && c.stop_reason) {
    banner = h('div', { class: 'banner banner-bad', role: 'status', 'data-testid': 'campaign-stop-reason' }, icon('alert'),
      h('div', {}, h('strong', {}, 'Stopped: the rest will not be sent.'), h('p', {}, c.stop_reason.detail || c.stop_reason.code)));
  } else if (c.hold && c.state === 'running') {
    banner = h('div', { class: 'banner banner-warn', role: 'status' }, icon('clock'),
      h('div', {}, h('strong', {}, 'Waiting: the number reached its daily limit of new customers.'),
        h('p', {}, c.hold.until ? `Sending continues ${fullTime(c.hold.until)}.` : 'Sending continues when the limit allows.')));
  } else if (c.state === 'scheduled' && c.schedule) {
    banner = h('div', { class: 'banner', role: 'status' }, icon('calendar'), h('div', {}, h('strong', {}, `Starts ${scheduleText(c.schedule)}.`), h('p', {}, `That is ${fullTime(c.schedule.at_utc)} on this computer's clock.`)));
  }
  fill(view.ui.banner, banner);
}

function drawAudience(c) {
  const editable = (c.state === 'draft' || c.state === 'scheduled') && isAdmin();
  const last = uploads.get(c.id);
  const problems = (c.audience && c.audience.errors_total) || 0;
  if (!editable && !last && !problems) { view.ui.audience.hidden = true; return; }
  view.ui.audience.hidden = false;
  const drawn = `${c.state}:${Boolean(last)}:${problems}:${(c.audience && c.audience.uploads) || 0}`;
  if (view.ui.audience.dataset.drawn === drawn) return;
  view.ui.audience.dataset.drawn = drawn;
  const file = h('input', { type: 'file', accept: '.csv,text/csv,text/plain', class: 'sr-only', id: 'more-csv', 'data-testid': 'campaign-more-csv' });
  file.addEventListener('change', async () => {
    if (!file.files[0]) return;
    try {
      const csv = await readCsv(file.files[0]);
      const result = await api.uploadAudience(c.id, csv.text);
      uploads.set(c.id, result);
      toast(`${result.accepted} recipient${result.accepted === 1 ? '' : 's'} added`);
      view.ui.audience.dataset.drawn = '';
      view.campaign = await api.campaign(c.id);
      drawCampaign();
    } catch (err) { if (err.status !== 401) toast(err.detail, 'error'); }
  });
  const schedule = scheduleInputs();
  const scheduleBox = h('form', { class: 'schedule-box', hidden: true, 'data-testid': 'schedule-form', onsubmit: async (event) => {
    event.preventDefault();
    try {
      view.campaign = await api.scheduleCampaign(c.id, { at: schedule.at.value, time_zone: schedule.zone.value });
      toast('Campaign scheduled');
      drawCampaign();
      pollCampaign();
    } catch (err) { if (err.status !== 401) toast(err.detail, 'error'); }
  } }, h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Date and time'), schedule.at),
  h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Time zone'), schedule.zone),
  h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'schedule-save' }, 'Schedule'));
  view.ui.scheduleBox = scheduleBox;
  fill(view.ui.audience,
    h('div', { class: 'card-head' }, h('h2', {}, 'Audience'),
      editable ? h('label', { class: 'btn btn-outline btn-sm', for: 'more-csv' }, icon('upload'), 'Add from CSV') : null, editable ? file : null),
    scheduleBox,
    last ? audienceResult(last, { errors: !(c.audience && c.audience.errors) }) : audienceHistory(c),
    audienceErrors(c));
}

function toggleSchedule() {
  const box = view.ui.scheduleBox;
  if (!box) return;
  box.hidden = !box.hidden;
  if (!box.hidden) box.querySelector('input').focus();
}

function drawProgress(c) {
  const n = c.counters || {};
  const p = progress(c);
  const cell = (label, value, testid, hint) => h('div', { class: 'count-cell', title: hint || '' }, h('strong', { 'data-testid': testid }, (value || 0).toLocaleString()), h('span', {}, label));
  fill(view.ui.progress,
    h('div', { class: 'card-head' }, h('h2', {}, 'Progress'), h('span', { class: 'muted', 'data-testid': 'campaign-percent' }, `${p.pct}% handed to WhatsApp`)),
    bar(p.pct, 'Campaign progress'),
    h('div', { class: 'counts' },
      cell('Recipients', n.recipients, 'count-recipients'),
      cell('Queued', n.queued, 'count-queued', 'Not handed to the sender yet'),
      cell('Released', n.released, 'count-released', 'Handed to the sender'),
      cell('Skipped', n.skipped, 'count-skipped', 'Opted out of marketing messages'),
      cell('Not sent', n.not_sent, 'count-not-sent', 'Stopped or cancelled before sending')));
}

async function pollCampaign() {
  const id = view.id;
  if (!view.campaign || !LIVE_STATES.includes(view.campaign.state)) return;
  later('campaign', async () => {
    try {
      const fresh = await api.campaign(id);
      if (view.id !== id) return;
      if (fresh.version !== view.campaign.version || fresh.state !== view.campaign.state) { view.campaign = fresh; drawCampaign(); }
    } catch (err) { if (err.status === 401) return; }
    pollCampaign();
  }, CAMPAIGN_POLL_MS);
}

async function act(action) {
  const c = view.campaign;
  if (action === 'cancel' && !(await ask(`Cancel ${c.name}?`, 'Recipients not sent yet will not be sent. Messages already sent stay sent. This cannot be undone.', 'Cancel campaign', { danger: true }))) return;
  try {
    view.campaign = action === 'unschedule' ? await api.unscheduleCampaign(c.id) : await api.campaignAction(c.id, action);
    toast({ start: 'Campaign started', pause: 'Campaign paused', resume: 'Campaign resumed', cancel: 'Campaign cancelled', unschedule: 'Back to draft' }[action]);
    drawCampaign();
    pollCampaign();
    loadReport();
  } catch (err) {
    if (err.status === 401) return;
    toast(err.detail, 'error');
    if (err.code === 'campaign_state') { view.campaign = await api.campaign(c.id).catch(() => view.campaign); drawCampaign(); }
  }
}

// ---------------------------------------------------------------- report

async function loadReport({ more = false } = {}) {
  const id = view.id;
  try {
    const cursor = more && view.report ? view.report.next_cursor : null;
    const answer = await api.report(id, { status: view.filter || undefined, cursor, limit: 100 });
    if (view.id !== id) return;
    if (more && view.report) answer.items = [...view.report.items, ...answer.items];
    view.report = answer;
    drawReport();
  } catch (err) {
    if (err.status === 401 || view.id !== id) return;
    fill(view.ui.table, h('p', { class: 'row-error' }, icon('alert'), err.detail));
  }
  if (!more) later('report', () => loadReport(), REPORT_POLL_MS);
}

const pct = (rate) => `${(Math.round((rate || 0) * 1000) / 10).toLocaleString()}%`;

function drawReport() {
  const { totals, rates, items } = view.report;
  const tile = (key, label, value, rate, tone) => h('div', { class: `tile tile-${tone}` },
    h('span', { class: 'tile-label' }, label),
    h('strong', { 'data-testid': `total-${key}` }, (value || 0).toLocaleString()),
    rate === null ? h('span', { class: 'tile-rate muted' }, `of ${(totals.released || 0).toLocaleString()} released`) : h('span', { class: 'tile-rate', 'data-testid': `rate-${key}` }, pct(rate)));
  fill(view.ui.totals,
    tile('sent', 'Sent', totals.sent, null, 'info'),
    tile('delivered', 'Delivered', totals.delivered, rates.delivered, 'ok'),
    tile('read', 'Read', totals.read, rates.read, 'read'),
    tile('replied', 'Replied', totals.replied, rates.replied, 'done'),
    tile('failed', 'Failed', totals.failed, rates.failed, 'bad'));
  const statuses = ['', 'pending', 'sent', 'delivered', 'read', 'replied', 'failed', 'queued', 'skipped', 'not_sent'];
  fill(view.ui.filters, statuses.filter((s) => !s || totals[s] || view.filter === s).map((s) => h('button', {
    type: 'button', 'aria-pressed': String(view.filter === s), onclick: () => { view.filter = s; view.report = null; loadReport({ more: true }); },
  }, s ? REPORT_STATUS[s][0] : 'All', s ? h('span', { class: 'count' }, String(totals[s] || 0)) : null)));
  if (!items.length) {
    fill(view.ui.table, h('p', { class: 'muted pad' }, view.campaign.counters.recipients ? 'Nobody with this status.' : 'No recipients yet: add them from a CSV.'));
  } else {
    fill(view.ui.table, h('table', { class: 'table', 'data-testid': 'report-table' },
      h('caption', { class: 'sr-only' }, 'Recipients'),
      h('thead', {}, h('tr', {}, ['#', 'Customer', 'Status', 'Last update', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.map(reportRow))));
  }
  view.ui.more.hidden = !view.report.next_cursor;
}

function reportRow(r) {
  const [label, tone] = REPORT_STATUS[r.status] || [r.status, 'muted'];
  const at = r.replied_at || r.read_at || r.delivered_at || r.sent_at;
  const details = r.error
    ? h('span', { class: 'error-detail' }, h('code', {}, String(r.error.code)), ' ', r.error.meaning || r.error.title || '')
    : r.reason ? h('span', { class: 'muted' }, r.reason.replace(/_/g, ' ')) : '';
  const conversation = r.conversation_id && r.message_id ? h('a', { href: `#/c/${encodeURIComponent(r.conversation_id)}`, class: 'table-link' }, formatNumber(r.phone)) : formatNumber(r.phone);
  return h('tr', { 'data-testid': 'report-row', dataset: { status: r.status } },
    h('td', { class: 'num muted' }, String(r.row)),
    h('td', {}, conversation),
    h('td', {}, h('span', { class: `chip chip-${tone}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), label)),
    h('td', { class: 'muted', title: at ? fullTime(at) : '' }, at ? listTime(at) : '—'),
    h('td', {}, details));
}
