"""``GET /_sandbox/``: a one-page console to play the customer, for people trying the inbox.

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
<button id="send">Send</button> <span id="result"></span>
</fieldset>
<fieldset><legend>Received send requests (newest first)</legend>
<table><thead><tr><th>#</th><th>at</th><th>number</th><th>answer</th><th>body</th></tr></thead>
<tbody id="received"></tbody></table></fieldset>
<script>
const api = (p, o) => fetch('/_sandbox' + p, o).then(r => r.json());
async function channels() {
  const list = await api('/channels');
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
      type: 'text', content: document.getElementById('text').value})});
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
