// The sections of the app (#/ inbox, #/templates, #/campaigns, #/team): which one shows, and the
// rail.
import { $ } from './state.js';
import { leaveTemplates, showTemplates } from './templates.js';
import { leaveCampaigns, showCampaigns } from './campaigns.js';
import { leaveTeam, showTeam } from './team.js';
import { leaveAudit, showAudit } from './audit.js';

const TITLES = { inbox: 'Inbox', templates: 'Templates', campaigns: 'Campaigns', team: 'Team', audit: 'Audit log' };
let current = null;

// "#/templates", "#/templates/new", "#/campaigns", "#/campaigns/<id>"; anything else is the inbox.
export function parsePage(hash) {
  const match = hash.match(/^#\/(templates|campaigns|team|audit)(?:\/(.+))?$/);
  if (!match) return { name: 'inbox', arg: null };
  return { name: match[1], arg: match[2] ? decodeURIComponent(match[2]) : null };
}

export function showPage(page) {
  if (current && current.name === page.name && current.arg === page.arg) return;
  const from = current;
  current = page;
  if (from && from.name === 'templates') leaveTemplates();
  if (from && from.name === 'campaigns') leaveCampaigns();
  if (from && from.name === 'team') leaveTeam();
  if (from && from.name === 'audit') leaveAudit();
  $('app').dataset.page = page.name;
  for (const link of $('rail').querySelectorAll('a[data-nav]')) {
    if (link.dataset.nav === page.name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = TITLES[page.name];
  const el = $('page');
  el.hidden = page.name === 'inbox';
  if (page.name === 'inbox') return;
  el.scrollTop = 0;
  if (page.name === 'templates') showTemplates(el, page.arg);
  else if (page.name === 'team') showTeam(el);
  else if (page.name === 'audit') showAudit(el);
  else showCampaigns(el, page.arg);
  // Moving between sections by keyboard lands on the new section, not back on the rail's top.
  if (from) requestAnimationFrame(() => el.querySelector('h1')?.focus({ preventScroll: true }));
}

// Signing out leaves whatever section was open (its polling stops with it).
export function leavePage() {
  if (current && current.name === 'templates') leaveTemplates();
  if (current && current.name === 'campaigns') leaveCampaigns();
  if (current && current.name === 'team') leaveTeam();
  if (current && current.name === 'audit') leaveAudit();
  current = null;
}
