"""``GET /_sandbox/``: a one-page console to play the customer, for people trying the inbox:
write (now, or "25 hours ago" to show a closed window), edit, delete, call, stop marketing; play
the WhatsApp Business app on the same number and the account's events.

It only calls the control API (``/_sandbox/...``) from the browser; no state of its own.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WhatsApp sandbox</title>
<style>
 body{font:14px system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}
 fieldset{border:1px solid #ccc;border-radius:6px;margin-bottom:1em}
 label{display:inline-block;margin:.3em 1em .3em 0} input,select{font:inherit}
 table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #eee;padding:.3em;
 text-align:left;vertical-align:top} code{font-size:12px} .err{color:#b00} .ok{color:#070}
</style></head><body>
<h1>WhatsApp Cloud API sandbox</h1>
<p>Play the customer: the message is posted to the inbox as a signed Meta webhook, and opens
the 24-hour window for free-form replies. Below: what the inbox sent to "Meta".</p>
<fieldset><legend>The customer writes</legend>
<label>Business number <select id="number"></select></label>
<label>Customer <input id="from" value="16505551234" size="16"></label>
<label>Name <input id="name" value="Sandbox Customer"></label><br>
<label>Text <input id="text" size="60" value="Hi! Where is my order?"></label>
<label title="The message reaches the inbox late, with the time it was sent: 25 hours ago
closes the customer's window for the sandbox and the inbox alike">Sent
<input id="ago" type="number" min="0" step="1" value="0" size="4"> hours ago</label>
<button id="send">Send</button> <span id="result"></span>
</fieldset>
<fieldset><legend>More of Meta's webhooks (for the number and customer above)</legend>
<p>The customer: <button data-do="edit">Edit their last message</button>
<button data-do="revoke">Delete it</button> <button data-do="call">Call (1 min)</button>
<button data-do="missed">Missed call</button> <button data-do="stop">Stop marketing</button>
<button data-do="resume">Resume marketing</button></p>
<p>The WhatsApp Business app on this number: <button data-do="echo">Write the text above</button>
<button data-do="history">Sync this chat's history</button>
<button data-do="contacts">Sync the customer as a contact</button></p>
<p>The account: <button data-do="restrict">Restrict business-initiated messaging (24 h)</button>
<button data-do="lift">Lift restrictions</button> <button data-do="alert">Alert</button>
<button data-do="capability">Capability update</button>
<button data-do="components">Change a template's body</button></p>
<span id="result2"></span>
</fieldset>
<fieldset><legend>Received send requests (newest first)</legend>
<table><thead><tr><th>#</th><th>at</th><th>number</th><th>answer</th><th>body</th></tr></thead>
<tbody id="received"></tbody></table></fieldset>
<script>
const api = (p, o) => fetch('/_sandbox' + p, o).then(r => r.json());
const $ = id => document.getElementById(id);
const post = (p, body) => api(p, {method: 'POST', headers: {'content-type': 'application/json'},
                                  body: JSON.stringify(body)});
let wabas = {}, last = null;
async function channels() {
  const list = await api('/channels');
  wabas = Object.fromEntries(list.map(c => [c.phone_number_id, c.waba_id]));
  document.getElementById('number').innerHTML = list.map(c =>
    `<option value="${c.phone_number_id}">${c.display_phone_number || c.phone_number_id}` +
    ` (${c.tenant_id})</option>`).join('');
}
async function send() {
  const out = document.getElementById('result');
  const r = await api('/customer-messages', {method: 'POST',
    headers: {'content-type': 'application/json'}, body: JSON.stringify({
      phone_number_id: document.getElementById('number').value,
      from: document.getElementById('from').value, name: document.getElementById('name').value,
      type: 'text', content: document.getElementById('text').value,
      sent_seconds_ago: 3600 * Number($('ago').value || 0)})});
  if (r.wamid) last = r.wamid;
  const ok = r.webhook_status === 200;
  out.className = ok ? 'ok' : 'err';
  out.textContent = r.wamid ? `${r.wamid}: webhook ${r.webhook_status ?? 'unreachable'}`
                            : JSON.stringify(r);
}
const esc = s => String(s).replace(/[&<>]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;'}[c]));
async function received() {
  const r = await api('/received');
  document.getElementById('received').innerHTML = r.items.slice(-50).reverse().map(i =>
    `<tr><td>${i.seq}</td><td>${i.at.slice(11, 19)}</td><td>${i.phone_number_id}</td>` +
    `<td class="${i.wamid ? 'ok' : 'err'}">${i.http_status} ${i.error_code ?? ''}</td>` +
    `<td><code>${esc(JSON.stringify(i.body))}</code></td></tr>`).join('');
}
function more(what) {
  const number = $('number').value, customer = $('from').value, who = {
    phone_number_id: number, customer: customer, name: $('name').value};
  const waba_id = wabas[number];
  switch (what) {
    case 'edit': return post('/customers/edit', {...who, message_id: last,
      text: prompt('The new text', $('text').value) || $('text').value});
    case 'revoke': return post('/customers/revoke', {...who, message_id: last});
    case 'call': return post('/customers/call', {...who, duration_seconds: 60});
    case 'missed': return post('/customers/call', {...who, answered: false});
    case 'stop': return post('/customers/marketing', {...who, value: 'stop'});
    case 'resume': return post('/customers/marketing', {...who, value: 'resume'});
    case 'echo': return post('/business-app/messages', {...who, content: $('text').value});
    case 'history': return post('/business-app/history', {...who, messages: [
      {from: 'customer', content: 'Do you deliver?', sent_seconds_ago: 5 * 86400},
      {from: 'business', content: 'Yes, free over $50.', sent_seconds_ago: 5 * 86400 - 600},
      {from: 'customer', content: 'Great, thanks!', sent_seconds_ago: 3600}]});
    case 'contacts': return post('/business-app/contacts', {phone_number_id: number,
      contacts: [{phone_number: customer, full_name: $('name').value,
                  first_name: $('name').value.split(' ')[0]}]});
    case 'restrict': return post('/account-update', {waba_id: waba_id});
    case 'lift': return fetch('/_sandbox/account-restrictions/' + waba_id,
                              {method: 'DELETE'}).then(r => r.json());
    case 'alert': return post('/account-alerts', {waba_id: waba_id});
    case 'capability': return post('/business-capability', {waba_id: waba_id});
    case 'components': {
      const name = prompt('Template name', 'order_update');
      const body = name && prompt('Its new body', 'Hi {{1}}, order {{2}} ships today.');
      return body ? post('/template-components', {waba_id: waba_id, name: name, body: body})
                  : Promise.resolve({detail: 'cancelled'});
    }
  }
}
for (const button of document.querySelectorAll('button[data-do]')) {
  button.onclick = async () => {
    const r = await more(button.dataset.do), out = $('result2');
    const statuses = r.webhook_statuses || (r.webhook_status !== undefined
                                            ? [r.webhook_status] : null);
    out.className = r.detail || (statuses && statuses.some(s => s !== 200)) ? 'err' : 'ok';
    out.textContent = statuses ? `${button.textContent}: webhook ${statuses.join(', ')}`
                               : JSON.stringify(r).slice(0, 300);
  };
}
document.getElementById('send').onclick = send;
channels(); received(); setInterval(received, 2000);
</script></body></html>
"""


def page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/_sandbox/", response_class=HTMLResponse)
    async def console() -> HTMLResponse:
        return HTMLResponse(PAGE)

    return router
