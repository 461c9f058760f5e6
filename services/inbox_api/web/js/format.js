// Pure formatting: times, countdowns, numbers, names. No DOM here.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const parseTime = (iso) => (iso ? new Date(iso) : null);

export function clockTime(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function startOfDay(date) {
  const d = new Date(date);
  d.setHours(0, 0, 0, 0);
  return d;
}

// "now", "5m", "14:02", "Yesterday", "Mon", "12 Nov", "12 Nov 2025": what chat lists show.
export function listTime(iso, now = new Date()) {
  const date = parseTime(iso);
  if (!date) return '';
  const diff = now - date;
  if (diff < MINUTE) return 'now';
  if (diff < HOUR) return `${Math.floor(diff / MINUTE)}m`;
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days <= 0) return clockTime(date);
  if (days === 1) return 'Yesterday';
  if (days < 7) return date.toLocaleDateString([], { weekday: 'short' });
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString([], { day: 'numeric', month: 'short', ...(sameYear ? {} : { year: 'numeric' }) });
}

export function dayLabel(date, now = new Date()) {
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days < 7) return date.toLocaleDateString([], { weekday: 'long' });
  return date.toLocaleDateString([], { day: 'numeric', month: 'long', year: 'numeric' });
}

export function fullTime(iso) {
  const date = parseTime(iso);
  return date ? date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

export function duration(ms) {
  if (ms < MINUTE) return `${Math.max(1, Math.floor(ms / 1000))}s`;
  const hours = Math.floor(ms / HOUR);
  const minutes = Math.floor((ms % HOUR) / MINUTE);
  if (hours >= 48) return `${Math.floor(hours / 24)}d`;
  return hours ? `${hours}h ${minutes}m` : `${minutes}m`;
}

// The server decides whether the window is open (its clock is the one that counts); the browser
// only counts down to expires_at, so a window that runs out while the page is open closes here too.
export function windowState(window, now = new Date()) {
  if (!window || !window.expires_at) {
    return { state: 'none', short: 'No customer message yet', long: 'The customer has not written yet' };
  }
  const left = parseTime(window.expires_at) - now;
  if (!window.open || left <= 0) {
    const ago = window.open ? -left : null;
    return { state: 'closed', short: 'Window closed', long: ago !== null ? `Window closed ${duration(ago)} ago` : 'The 24-hour window is closed' };
  }
  const text = `${duration(left)} left`;
  return { state: left < HOUR ? 'ending' : 'open', short: text, long: `Window open · ${text}` };
}

// A business number as Meta gives it (already formatted, e.g. "+1 555-0100"), or digits: shown
// as given, with a "+" before bare digits. Customers' numbers come formatted by the server
// (customer.display_number, international format): no digit splitting here.
export function formatNumber(number) {
  if (!number) return '';
  const text = String(number).trim();
  return /^\d+$/.test(text) ? `+${text}` : text;
}

// "@ana.garcia" for a username; '' for none.
export function atUsername(username) {
  const name = String(username || '').trim();
  if (!name) return '';
  return name.startsWith('@') ? name : `@${name}`;
}

// Who the customer is, for people: profile name, then @username, then the number, then
// "WhatsApp user" (never the conversation key or the BSUID; customerTooltip has the BSUID).
export function contactName(conversation) {
  const customer = (conversation && conversation.customer) || {};
  // The profile name, else the name the WhatsApp Business app saved them as.
  return customer.name || customer.saved_name || atUsername(customer.username) || customer.display_number
    || (customer.wa_id ? formatNumber(customer.wa_id) : '') || 'WhatsApp user';
}

// The line under the name: what contactName did not already show (@username, number).
export function customerDetails(conversation) {
  const customer = (conversation && conversation.customer) || {};
  const shown = contactName(conversation);
  const number = customer.display_number || (customer.wa_id ? formatNumber(customer.wa_id) : '');
  const saved = customer.saved_name && customer.saved_name !== shown ? `Saved as ${customer.saved_name}` : '';
  return [saved, atUsername(customer.username), number].filter((part) => part && part !== shown);
}

// The BSUID when nothing but it is known: a hover text for the "WhatsApp user" label.
export function customerTooltip(conversation) {
  const customer = (conversation && conversation.customer) || {};
  if (customer.name || customer.saved_name || customer.username || customer.wa_id) return '';
  return customer.user_id ? `WhatsApp user ${customer.user_id}` : '';
}

// A stable key for the avatar's colour: whichever identifier is known.
export function customerKey(conversation) {
  const customer = (conversation && conversation.customer) || {};
  return customer.user_id || customer.wa_id || contactName(conversation);
}

export function initials(name) {
  const words = String(name || '').replace(/[^\p{L}\p{N} ]/gu, '').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '#';
  if (/^\d/.test(words[0])) return '#';
  return (words[0][0] + (words.length > 1 ? words[words.length - 1][0] : '')).toUpperCase();
}

export function hue(text) {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % 360;
}

export function renderTemplate(body, values) {
  return String(body || '').replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, key) => (values[key] ? values[key] : `{{${key}}}`));
}

export function templateParts(body, values) {
  // Split the body into text and variable slots so the preview can highlight empty ones.
  const parts = [];
  let last = 0;
  const re = /\{\{\s*([\w.]+)\s*\}\}/g;
  let match;
  while ((match = re.exec(body || ''))) {
    if (match.index > last) parts.push({ text: body.slice(last, match.index) });
    parts.push({ key: match[1], text: values[match[1]] || '', empty: !values[match[1]] });
    last = re.lastIndex;
  }
  if (last < (body || '').length) parts.push({ text: body.slice(last) });
  return parts;
}

export function secondsAgo(iso, now = new Date()) {
  const date = parseTime(iso);
  return date ? Math.max(0, Math.round((now - date) / 1000)) : Infinity;
}

// A customer's WhatsApp number as typed: E.164 with or without "+", spaces, dashes, dots and
// brackets allowed. The digits (country code first, 8 to 15 of them), or null.
export function customerNumber(typed) {
  const text = String(typed || '').trim();
  if (!/^\+?[\d\s().-]+$/.test(text)) return null;
  const digits = text.replace(/\D/g, '');
  return /^[1-9]\d{7,14}$/.test(digits) ? digits : null;
}
