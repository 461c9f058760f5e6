// What a message holds beyond its text (issue 15), as Meta sent it (docs/inbox-api.md): the
// forwarded label, an ad's referral card, a campaign chip, orders, contact cards, flow answers,
// call-permission replies, button and list replies, locations, stickers, unsupported types and
// Meta's errors. Every value is a text node or an attribute through h(); links are http(s) only.
import { h, icon } from './dom.js';
import { formatNumber, fullTime } from './format.js';

// Opens "New conversation" with a number filled in (newconversation.js listens).
export const START_CONVERSATION = 'inbox:start-conversation';

const str = (value) => (typeof value === 'string' ? value.trim() : '');
const num = (value) => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
};

// Only web addresses become links: a javascript: or data: URL from a payload stays text.
function safeUrl(value) {
  const text = str(value);
  if (!text) return null;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

function link(href, props, ...children) {
  return h('a', { ...props, href, target: '_blank', rel: 'noopener noreferrer' }, ...children);
}

// --- above the content: campaign, forwarded, ad, product -------------------------------------

function campaignChip(message) {
  const name = message.campaign && str(message.campaign.name);
  return name ? h('span', { class: 'bubble-kind campaign-chip', 'data-testid': 'campaign-chip', title: `Sent by the campaign ${name}` }, icon('megaphone'), `Campaign: ${name}`) : null;
}

function forwardedLabel(message) {
  if (message.frequently_forwarded) return h('span', { class: 'forwarded is-many', 'data-testid': 'forwarded', title: 'Forwarded more than 5 times' }, icon('forward'), 'Forwarded many times');
  if (message.forwarded) return h('span', { class: 'forwarded', 'data-testid': 'forwarded' }, icon('forward'), 'Forwarded');
  return null;
}

const REFERRAL_SOURCES = { ad: 'From an ad', post: 'From a post' };

function referralCard(message) {
  const r = message.referral;
  if (!r || typeof r !== 'object') return null;
  const headline = str(r.headline);
  const body = str(r.body);
  const source = safeUrl(r.source_url);
  const thumb = safeUrl(r.thumbnail_url) || safeUrl(r.image_url);
  const video = safeUrl(r.video_url);
  const kind = REFERRAL_SOURCES[str(r.source_type)] || 'From an ad';
  const image = thumb ? h('img', { class: 'referral-thumb', src: thumb, alt: '', loading: 'lazy', referrerpolicy: 'no-referrer' }) : null;
  if (image) image.addEventListener('error', () => image.remove(), { once: true });
  const media = image && (video || source) ? link(video || source, { class: 'referral-media', 'aria-label': video ? 'Play the ad' : 'Open the ad' }, image, video ? h('span', { class: 'referral-play' }, icon('play')) : null) : image;
  const welcome = r.welcome_message && str(r.welcome_message.text);
  return h('div', { class: 'referral', 'data-testid': 'referral' },
    media,
    h('div', { class: 'referral-text' },
      h('span', { class: 'referral-kind' }, icon('megaphone'), kind),
      headline ? h('strong', { class: 'referral-headline' }, headline) : null,
      body ? h('span', { class: 'referral-body' }, body) : null,
      welcome ? h('span', { class: 'referral-welcome' }, `Welcome message: ${welcome}`) : null,
      source ? link(source, { class: 'referral-source' }, str(r.source_type) === 'post' ? 'View the post' : 'View the ad') : null));
}

function referredProduct(message) {
  const p = message.referred_product;
  const sku = p && str(p.product_retailer_id);
  return sku ? h('span', { class: 'forwarded', 'data-testid': 'referred-product' }, icon('template'), `About product ${sku}`) : null;
}

// The lines at the top of a bubble (each may be null); a deleted message keeps none of its content.
export function bubbleHead(message) {
  if (message.deleted) return [campaignChip(message)];
  return [campaignChip(message), forwardedLabel(message), referralCard(message), referredProduct(message)];
}

// --- the content of each kind ----------------------------------------------------------------

function location(c) {
  const inner = c.location && typeof c.location === 'object' ? c.location : c;
  const lat = num(inner.latitude);
  const lon = num(inner.longitude);
  const name = str(inner.name);
  const address = str(inner.address);
  const place = safeUrl(inner.url);
  const where = lat !== null && lon !== null ? `${lat.toFixed(5)}, ${lon.toFixed(5)}` : '';
  const map = lat !== null && lon !== null ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}` : null;
  const label = h('span', { class: 'file-name' }, name || 'Shared location', address ? h('small', {}, address) : null, where && !address ? h('small', {}, where) : null);
  return h('div', { class: 'card location-card', 'data-testid': 'location' },
    map ? h('a', { class: 'file-chip', href: map, target: '_blank', rel: 'noopener noreferrer', title: 'Open in OpenStreetMap', 'data-testid': 'map-link' },
      icon('pin'), label, h('span', { class: 'file-action' }, 'Map')) : h('span', { class: 'file-chip' }, icon('pin'), label),
    place ? link(place, { class: 'card-link' }, place) : null);
}

function contactNameOf(contact) {
  const n = contact.name || {};
  return str(n.formatted_name) || [str(n.prefix), str(n.first_name), str(n.middle_name), str(n.last_name), str(n.suffix)].filter(Boolean).join(' ') || 'Contact';
}

function startConversation(number, name) {
  return h('button', {
    type: 'button', class: 'btn btn-outline btn-sm', 'data-testid': 'contact-start', 'aria-label': `Start a conversation with ${name} (${number})`,
    onclick: () => document.dispatchEvent(new CustomEvent(START_CONVERSATION, { detail: { number } })),
  }, icon('chat'), 'Start conversation');
}

function contactCard(contact) {
  const name = contactNameOf(contact);
  const org = contact.org && typeof contact.org === 'object' ? [str(contact.org.company), str(contact.org.title)].filter(Boolean).join(' · ') : '';
  const phones = (Array.isArray(contact.phones) ? contact.phones : []).filter((p) => p && (str(p.phone) || str(p.wa_id)));
  const emails = (Array.isArray(contact.emails) ? contact.emails : []).map((e) => e && str(e.email)).filter(Boolean);
  return h('li', { class: 'contact-card', 'data-testid': 'contact-card' },
    h('div', { class: 'contact-head' }, icon('user'), h('span', { class: 'file-name' }, name, org ? h('small', {}, org) : null)),
    phones.length ? h('ul', { class: 'contact-lines' }, phones.map((p) => {
      const shown = str(p.phone) || formatNumber(p.wa_id);
      const number = str(p.wa_id) ? formatNumber(str(p.wa_id)) : shown;
      return h('li', { class: 'contact-line' },
        h('span', { class: 'contact-number', 'data-testid': 'contact-number' }, shown, str(p.type) ? h('small', {}, ` ${p.type.toLowerCase()}`) : null),
        str(p.wa_id) ? null : h('small', { class: 'is-muted' }, ' (not on WhatsApp, or unknown)'),
        startConversation(number, name));
    })) : h('p', { class: 'is-muted' }, 'No phone number shared.'),
    emails.length ? h('ul', { class: 'contact-lines' }, emails.map((e) => h('li', {}, e))) : null);
}

function contacts(c) {
  const list = Array.isArray(c.contacts) ? c.contacts : [];
  return h('ul', { class: 'card contacts-card', 'data-testid': 'contacts' },
    list.length ? list.filter((x) => x && typeof x === 'object').map(contactCard) : h('li', { class: 'is-muted' }, 'Contact card'));
}

function money(amount, currency) {
  if (amount === null) return '';
  if (currency) {
    try { return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount); } catch { /* unknown code */ }
    return `${amount} ${currency}`;
  }
  return String(amount);
}

function order(c) {
  const items = (Array.isArray(c.product_items) ? c.product_items : []).filter((x) => x && typeof x === 'object');
  const currencies = new Set(items.map((i) => str(i.currency)));
  let total = 0;
  let priced = items.length > 0;
  const rows = items.map((item) => {
    const quantity = num(item.quantity) ?? 1;
    const price = num(item.item_price);
    if (price === null) priced = false; else total += price * quantity;
    return h('tr', { 'data-testid': 'order-item' },
      h('td', { class: 'order-sku' }, str(item.product_retailer_id) || 'Item'),
      h('td', { class: 'order-qty' }, `× ${quantity}`),
      h('td', { class: 'order-price' }, money(price === null ? null : price * quantity, str(item.currency))));
  });
  const note = str(c.text);
  return h('div', { class: 'card order-card', 'data-testid': 'order' },
    h('div', { class: 'card-title' }, icon('cart'), `Order · ${items.length} item${items.length === 1 ? '' : 's'}`),
    items.length ? h('table', { class: 'order-items' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Product'), h('th', { scope: 'col' }, 'Qty'), h('th', { scope: 'col' }, 'Price'))),
      h('tbody', {}, rows),
      priced && currencies.size === 1 ? h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: '2' }, 'Total'),
        h('td', { class: 'order-price', 'data-testid': 'order-total' }, money(Math.round(total * 100) / 100, [...currencies][0])))) : null) : null,
    note ? h('p', { class: 'text', dir: 'auto' }, note) : null,
    str(c.catalog_id) ? h('small', { class: 'card-foot' }, `Catalog ${c.catalog_id}`) : null);
}

// "screen_0_Choose_a_date_1" -> "Choose a date"; "0_Yes" -> "Yes" (a Flow's option ids).
function flowLabel(key) {
  const words = String(key).replace(/^screen_\d+_/i, '').replace(/_\d+$/, '').replace(/[_-]+/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : String(key);
}

function flowValue(value) {
  if (value === true) return 'Yes';
  if (value === false) return 'No';
  if (Array.isArray(value)) return value.map(flowValue).join(', ');
  if (value && typeof value === 'object') return JSON.stringify(value);
  const text = String(value ?? '');
  return /^\d+_\S/.test(text) ? text.replace(/^\d+_/, '').replace(/_/g, ' ') : text;
}

function flowReply(reply) {
  let answers = null;
  if (typeof reply.response_json === 'string') {
    try { answers = JSON.parse(reply.response_json); } catch { answers = null; }
  } else if (reply.response_json && typeof reply.response_json === 'object') {
    answers = reply.response_json;
  }
  const rows = answers && typeof answers === 'object' && !Array.isArray(answers)
    ? Object.entries(answers).filter(([key]) => key !== 'flow_token') : [];
  const title = str(reply.name) && reply.name !== 'flow' ? reply.name : 'Form response';
  return h('div', { class: 'card flow-card', 'data-testid': 'flow-answers' },
    h('div', { class: 'card-title' }, icon('template'), title),
    rows.length ? h('dl', { class: 'flow-answers' }, rows.map(([key, value]) => [
      h('dt', { title: key }, flowLabel(key)), h('dd', { dir: 'auto', title: typeof value === 'string' ? value : null }, flowValue(value) || '—')]))
      : h('p', { class: 'is-muted' }, answers === null && reply.response_json ? String(reply.response_json) : 'No answers.'),
    str(reply.body) && reply.body !== 'Sent' ? h('small', { class: 'card-foot' }, reply.body) : null);
}

function epochTime(value) {
  const seconds = num(value);
  return seconds === null ? '' : fullTime(new Date(seconds * 1000).toISOString());
}

function callPermission(reply) {
  const accepted = str(reply.response).toLowerCase() === 'accept';
  const until = epochTime(reply.expiration_timestamp);
  const automatic = str(reply.response_source) === 'automatic';
  return h('div', { class: `card call-card ${accepted ? 'is-accepted' : 'is-rejected'}`, 'data-testid': 'call-permission' },
    h('div', { class: 'card-title' }, icon('phone'), accepted ? 'Allowed you to call' : 'Declined calls'),
    accepted && reply.is_permanent === true ? h('small', {}, 'Permanently') : null,
    accepted && reply.is_permanent !== true && until ? h('small', {}, `Until ${until}`) : null,
    automatic ? h('small', { class: 'is-muted' }, 'Answered automatically by WhatsApp') : null);
}

function choice(label, title, description) {
  return h('div', { class: 'choice', 'data-testid': 'choice' },
    h('span', { class: 'choice-label' }, icon('reply'), label),
    h('strong', { dir: 'auto' }, title || '(no title)'),
    description ? h('small', { dir: 'auto' }, description) : null);
}

function interactive(c) {
  const kind = str(c.type);
  const reply = (kind && c[kind] && typeof c[kind] === 'object') ? c[kind] : {};
  switch (kind) {
    case 'nfm_reply': return flowReply(reply);
    case 'call_permission_reply': return callPermission(reply);
    case 'button_reply': return choice('Tapped a button', str(reply.title));
    case 'list_reply': return choice('Picked from a list', str(reply.title), str(reply.description));
    default: return h('p', { class: 'text is-muted' }, `Interactive reply${kind ? ` (${kind})` : ''}`, str(reply.title) ? `: ${reply.title}` : '');
  }
}

function unsupported(message) {
  const kind = str((message.content || {}).type);
  return h('div', { class: 'card unsupported-card', 'data-testid': 'unsupported' }, icon('question'),
    h('span', {}, 'This message type is not supported by WhatsApp Cloud API yet', kind ? ` (${kind})` : '', '. Open WhatsApp on the phone to see it.'));
}

// The type's own content, or null when the text (or the media block) says it all.
export function messageContent(message) {
  const c = message.content || {};
  if (message.deleted) return null;
  switch (message.type) {
    case 'location': return location(c);
    case 'contacts': return contacts(c);
    case 'order': return order(c);
    case 'interactive': return interactive(c);
    case 'button': return choice('Tapped a button', str(c.text) || str(c.payload));
    case 'unsupported': return unsupported(message);
    default: return null;
  }
}

const OWN_TEXT = new Set(['location', 'contacts', 'order', 'interactive', 'button', 'unsupported']);

// Whether the content above already says what the text (Meta's preview) would repeat.
export function coversText(message) {
  if (message.deleted) return false;
  if (message.type === 'sticker') return Boolean(message.media);
  return OWN_TEXT.has(message.type);
}

// "Title: details", without saying the same thing twice.
export function errorText(error) {
  if (!error) return '';
  const title = str(error.title);
  const detail = str(error.detail);
  if (title && detail && title.toLowerCase() !== detail.toLowerCase()) return `${title}: ${detail}`;
  return detail || title;
}

// Meta's errors on the message itself (an unsupported type, a message it could not pass on).
export function bubbleErrors(message) {
  const errors = Array.isArray(message.errors) ? message.errors : [];
  if (!errors.length) return null;
  return h('ul', { class: 'msg-errors', 'data-testid': 'meta-errors' }, errors.map((e) => h('li', {}, icon('alert'),
    h('span', {}, errorText(e) || 'WhatsApp reported a problem with this message.', e.code != null ? h('span', { class: 'code' }, ` (error ${e.code})`) : null))));
}
