// The composer: a free-form reply or a file inside the window, approved templates outside it.
import { cannedPicker } from './canned.js';
import { fill, h, icon } from './dom.js';
import { contactName, secondsAgo, templateParts, windowState } from './format.js';
import { noteForm, noteToggle } from './notes.js';

// The option value names one template: name and language together are its identity.
const templateValue = (t) => `${t.name}:${t.language}`;

// What WhatsApp takes (docs/inbox-api.md, attachments); the API checks sizes and says what is wrong.
const ATTACH_ACCEPT = 'image/jpeg,image/png,image/webp,video/mp4,video/3gpp,audio/aac,audio/amr,audio/mpeg,audio/mp4,audio/ogg,.pdf,.txt,.doc,.docx,.xls,.xlsx,.ppt,.pptx';
// WhatsApp shows "typing…" for 25 s or until the reply: one call per 10 s keeps it up (the
// server refuses more often with 429, and outside the window).
const TYPING_EVERY_MS = 10_000;
const fileSize = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`);
let controls = 0;

export class Composer {
  constructor({ loadTemplates, send, confirmSend, me, agentName = (id) => id, typing = async () => {}, addNote = async () => {}, onTyping = () => {} }) {
    this.onTyping = onTyping; // presence.js: colleagues see "typing…" (true) until it stops (false)
    this.agentName = agentName;
    this.addNote = addNote; // a private note (notes.js), never sent to the customer
    this.noteMode = false;
    this.sendTyping = typing;
    this.typingAt = new Map(); // conversation id -> when the indicator was last asked for
    this.loadTemplates = loadTemplates;
    this.sendCommand = send;
    this.confirmSend = confirmSend;
    this.me = me;
    this.drafts = new Map();
    this.conversation = null;
    this.forceTemplate = false;
    this.busy = false;
    this.el = h('footer', { class: 'composer', 'data-testid': 'composer' });
  }

  // Re-render only when the mode changes, so typing is never interrupted by live updates.
  update(conversation) {
    const switched = !this.conversation || this.conversation.id !== conversation.id;
    if (switched) {
      this.saveDraft();
      this.textarea = null; // its text belongs to the previous conversation
      this.forceTemplate = false;
      this.template = null;
      this.values = {};
      this.reply = null;
      this.file = null;
      this.noteMode = false;
    }
    this.conversation = conversation;
    const mode = this.mode();
    if (switched || mode !== this.renderedMode) this.render();
  }

  mode() {
    if (this.noteMode) return 'note';
    const w = windowState(this.conversation.window);
    if (w.state === 'none' || w.state === 'closed') return `template-${w.state}`;
    return this.forceTemplate ? 'template-choice' : 'text';
  }

  saveDraft() {
    if (this.conversation && this.textarea) this.drafts.set(this.conversation.id, this.textarea.value);
  }

  render() {
    this.saveDraft();
    this.textarea = null;
    const mode = this.mode();
    this.renderedMode = mode;
    this.error = h('div', { class: 'composer-error', role: 'alert', hidden: true, 'data-testid': 'composer-error' });
    this.replyBar = h('div', { class: 'reply-bar', hidden: true, 'data-testid': 'reply-bar' });
    this.attachBar = h('form', { class: 'attach-bar', hidden: true, 'data-testid': 'attach-bar', onsubmit: (event) => { event.preventDefault(); this.sendAttachment(); } });
    if (mode === 'note') {
      fill(this.el, this.error, noteForm(this));
    } else if (mode === 'text') {
      fill(this.el, this.error, this.replyBar, this.attachBar, this.textForm());
      this.drawAttachment();
    } else {
      this.file = null; // a file is a free-form message: it cannot wait for a closed window
      const notice = this.notice(mode);
      // Shown but disabled, described by the notice that says why and what to send instead.
      if (notice) notice.append(...this.attachControl(false, notice.id), noteToggle(this));
      fill(this.el, notice, this.error, this.templateForm(mode));
    }
    this.el.dataset.mode = mode;
  }

  // A real file input with its label as the button (focusable and announced as such).
  attachControl(enabled, describedBy = null) {
    const id = `attach-${++controls}`;
    const input = h('input', { type: 'file', id, class: 'file-input', accept: ATTACH_ACCEPT, disabled: !enabled, 'aria-describedby': describedBy, 'data-testid': 'attach-input' });
    input.addEventListener('change', () => { this.pickFile(input.files[0] || null); input.value = ''; });
    const label = h('label', { for: id, class: `btn-icon btn-attach${enabled ? '' : ' is-disabled'}`, 'data-testid': 'attach-button',
      title: enabled ? 'Attach a file' : 'Files are free-form messages: send an approved template until the customer writes' },
    icon('clip'), h('span', { class: 'sr-only' }, 'Attach a file'));
    return [input, label];
  }

  pickFile(file) {
    this.file = file;
    this.clearError();
    this.drawAttachment();
    (this.attachCaption || this.attachBar?.querySelector('[data-testid="attach-send"]'))?.focus();
  }

  // The chosen file: its name and size, a caption where WhatsApp shows one, remove and send.
  drawAttachment() {
    if (!this.attachBar) return;
    const file = this.mode() === 'text' ? this.file : null;
    this.attachBar.hidden = !file;
    this.attachCaption = null;
    if (!file) { this.attachBar.replaceChildren(); return; }
    // WhatsApp shows no caption on audio or stickers (WebP).
    if (!/^audio\/|^image\/webp$/.test(file.type)) {
      this.attachCaption = h('input', { type: 'text', class: 'input attach-caption', maxlength: 1024, placeholder: 'Add a caption (optional)', 'aria-label': `Caption for ${file.name}`, 'data-testid': 'attach-caption' });
    }
    fill(this.attachBar, icon('file'),
      h('span', { class: 'file-name', 'data-testid': 'attach-name' }, file.name, h('small', {}, fileSize(file.size))),
      this.attachCaption,
      h('button', { type: 'button', class: 'btn-icon', 'aria-label': `Remove ${file.name}`, 'data-testid': 'attach-remove', onclick: () => { this.pickFile(null); this.textarea?.focus(); } }, icon('close')),
      h('button', { type: 'submit', class: 'btn-send', 'aria-label': `Send ${file.name}`, 'data-testid': 'attach-send' }, icon('send')));
  }

  async sendAttachment() {
    const file = this.file;
    if (!file || this.busy) return;
    if (!(await this.guardOtherAgent())) return;
    const caption = this.attachCaption ? this.attachCaption.value.trim() : '';
    const ok = await this.submit({ kind: 'attachment', file, caption, reply_to: this.reply ? this.reply.wamid : null },
      caption ? `📎 ${file.name}: ${caption}` : `📎 ${file.name}`);
    if (ok) {
      this.replyTo(null);
      this.pickFile(null);
      this.textarea?.focus();
    }
  }

  notice(mode) {
    const name = contactName(this.conversation);
    if (mode === 'template-none') {
      return h('div', { class: 'composer-notice', id: `window-notice-${++controls}`, 'data-testid': 'window-notice' }, icon('lock'),
        h('div', {}, h('strong', {}, `${name} hasn't written to you yet.`),
          h('p', {}, 'WhatsApp only allows an approved template as the first message. Free-form replies open once the customer answers.')));
    }
    if (mode === 'template-closed') {
      const w = windowState(this.conversation.window);
      return h('div', { class: 'composer-notice', id: `window-notice-${++controls}`, 'data-testid': 'window-notice' }, icon('lock'),
        h('div', {}, h('strong', {}, `${w.long}.`),
          h('p', {}, `${name}'s last message is more than 24 hours old, so WhatsApp only accepts an approved template until they write again.`)));
    }
    return null;
  }

  showError(error) {
    fill(this.error, icon('alert'), h('div', {},
      h('strong', {}, error.detail || 'The message could not be sent.'),
      error.hint ? h('p', {}, error.hint) : null));
    this.error.hidden = false;
  }

  clearError() { if (this.error) this.error.hidden = true; }

  textForm() {
    const textarea = h('textarea', {
      class: 'composer-input', rows: 1, placeholder: 'Type a reply', 'aria-label': `Reply to ${contactName(this.conversation)}`,
      'data-testid': 'composer-input', enterkeyhint: 'send',
    });
    textarea.value = this.drafts.get(this.conversation.id) || '';
    this.textarea = textarea;
    // "/shortcut" lists canned replies; the chosen one becomes editable text (canned.js).
    const canned = cannedPicker(textarea, () => this.conversation);
    const grow = () => { textarea.style.height = 'auto'; textarea.style.height = `${Math.min(textarea.scrollHeight, 180)}px`; };
    textarea.addEventListener('input', () => { grow(); this.clearError(); this.noteTyping(); this.onTyping(Boolean(textarea.value.trim())); });
    textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.reply) { event.preventDefault(); event.stopPropagation(); this.replyTo(null); return; }
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    const sendButton = h('button', { type: 'submit', class: 'btn-send', 'aria-label': 'Send reply', 'data-testid': 'send-button' }, icon('send'));
    const form = h('form', { class: 'composer-form', onsubmit: (event) => { event.preventDefault(); this.sendText(); } },
      noteToggle(this),
      ...this.attachControl(true),
      h('button', { type: 'button', class: 'btn-icon', title: 'Send a template', 'aria-label': 'Send a template instead', onclick: () => { this.saveDraft(); this.forceTemplate = true; this.render(); this.el.querySelector('select')?.focus(); } }, icon('template')),
      canned, textarea, sendButton);
    requestAnimationFrame(grow);
    requestAnimationFrame(() => this.drawReply());
    return form;
  }

  // The customer sees WhatsApp's typing indicator while the agent types a reply (not with read
  // receipts off: Meta's typing call marks their message read too). Best effort: a refusal
  // (window closed, asked too soon) only means no indicator.
  noteTyping() {
    const c = this.conversation;
    const me = this.me();
    if (!c || this.mode() !== 'text' || !this.textarea || !this.textarea.value.trim()) return;
    if (me && me.settings && me.settings.read_receipts === false) return;
    const now = Date.now();
    if (now - (this.typingAt.get(c.id) || 0) < TYPING_EVERY_MS) return;
    this.typingAt.set(c.id, now);
    this.sendTyping(c).catch(() => {});
  }

  // Quote a message in the composer; the next reply is sent with reply_to (null cancels).
  replyTo(message) {
    this.reply = message && message.wamid ? { wamid: message.wamid, text: message.text || message.type, inbound: message.direction === 'inbound' } : null;
    this.drawReply();
    if (this.reply) this.textarea?.focus();
  }

  drawReply() {
    if (!this.replyBar) return;
    const reply = this.mode() === 'text' ? this.reply : null;
    this.replyBar.hidden = !reply;
    if (!reply) { this.replyBar.replaceChildren(); return; }
    fill(this.replyBar, icon('reply'),
      h('div', { class: 'reply-quote' },
        h('strong', {}, reply.inbound ? `Replying to ${contactName(this.conversation)}` : 'Replying to your message'),
        h('span', { class: 'quote-text', 'data-testid': 'reply-preview' }, reply.text)),
      h('button', { type: 'button', class: 'btn-icon', 'aria-label': 'Cancel reply', 'data-testid': 'reply-cancel', onclick: () => { this.replyTo(null); this.textarea?.focus(); } }, icon('close')));
  }

  async guardOtherAgent() {
    const last = this.conversation.last_agent_reply;
    if (!last || !last.agent_id || !this.me() || last.agent_id === this.me().agent_id) return true;
    const seconds = secondsAgo(last.at);
    if (seconds > 60) return true;
    const name = this.agentName(last.agent_id);
    return this.confirmSend(`${name} replied ${seconds} s ago`,
      `${name} answered ${contactName(this.conversation)} ${seconds} seconds ago. Send yours anyway?`);
  }

  async sendText() {
    const text = this.textarea.value.trim();
    if (!text || this.busy) return;
    if (!(await this.guardOtherAgent())) return;
    const ok = await this.submit({ kind: 'text', text, reply_to: this.reply ? this.reply.wamid : null }, text);
    if (ok) {
      this.onTyping(false);
      this.replyTo(null);
      this.textarea.value = '';
      this.drafts.delete(this.conversation.id);
      this.textarea.style.height = 'auto';
      this.textarea.focus();
    }
  }

  async submit(body, previewText) {
    this.busy = true;
    this.el.classList.add('is-busy');
    this.clearError();
    try {
      await this.sendCommand(this.conversation, body, previewText);
      return true;
    } catch (error) {
      this.showError(error);
      return false;
    } finally {
      this.busy = false;
      this.el.classList.remove('is-busy');
    }
  }

  templateForm(mode) {
    const box = h('div', { class: 'template-box', 'data-testid': 'template-composer' });
    const select = h('select', { class: 'template-select', 'aria-label': 'Approved template', 'data-testid': 'template-select' },
      h('option', { value: '' }, 'Loading approved templates…'));
    const fields = h('div', { class: 'template-fields' });
    const preview = h('div', { class: 'template-preview', 'aria-live': 'polite', 'data-testid': 'template-preview' });
    const sendButton = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'template-send', disabled: true }, icon('send'), 'Send template');
    const form = h('form', { class: 'template-form', onsubmit: (event) => { event.preventDefault(); this.sendTemplate(); } },
      h('div', { class: 'template-head' },
        h('label', { class: 'field-label' }, 'Approved template', select),
        mode === 'template-choice' ? h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => { this.forceTemplate = false; this.render(); this.textarea?.focus(); } }, 'Back to reply') : null),
      fields,
      h('div', { class: 'template-foot' }, preview, sendButton));
    box.append(form);
    this.templateUi = { select, fields, preview, sendButton };

    this.loadTemplates().then((templates) => {
      if (this.templateUi.select !== select) return; // a newer form replaced this one
      if (!templates.length) {
        fill(select, h('option', { value: '' }, 'No approved templates'));
        fill(preview, h('p', { class: 'is-muted' }, 'Ask an admin to submit a template to Meta; only approved ones can be sent.'));
        return;
      }
      this.templates = templates;
      fill(select, h('option', { value: '' }, 'Choose a template…'),
        ...templates.map((t) => h('option', { value: templateValue(t) },
          [t.name, t.language, t.category && t.category.toLowerCase()].filter(Boolean).join(' · '))));
      select.addEventListener('change', () => this.pickTemplate(templates.find((t) => templateValue(t) === select.value) || null));
      const again = this.template && templates.find((t) => templateValue(t) === templateValue(this.template));
      if (again) select.value = templateValue(again);
      this.pickTemplate(again || null);
    }).catch((error) => {
      fill(select, h('option', { value: '' }, 'Templates unavailable'));
      this.showError(error);
    });
    return box;
  }

  pickTemplate(template) {
    const { fields, preview, sendButton } = this.templateUi;
    this.template = template;
    this.values = {};
    this.clearError();
    if (!template) {
      fields.replaceChildren();
      fill(preview, h('p', { class: 'is-muted' }, 'Pick a template to preview it.'));
      sendButton.disabled = true;
      return;
    }
    const params = template.parameters || [];
    fill(fields, ...params.map((p) => {
      const input = h('input', { type: 'text', class: 'input', name: p.key, required: true, placeholder: p.example || '', 'data-testid': `template-var-${p.key}`, autocomplete: 'off' });
      input.addEventListener('input', () => { this.values[p.key] = input.value; this.renderPreview(); });
      return h('label', { class: 'field-label' }, /^\d+$/.test(p.key) ? `Variable {{${p.key}}}` : p.key.replace(/_/g, ' '), input);
    }));
    this.renderPreview();
  }

  renderPreview() {
    const { preview, sendButton } = this.templateUi;
    const template = this.template;
    const parts = templateParts(template.body_text, this.values);
    fill(preview, h('span', { class: 'preview-label' }, 'Preview'),
      h('p', { class: 'preview-bubble' }, parts.map((part) => (part.key
        ? h('mark', { class: part.empty ? 'slot is-empty' : 'slot' }, part.empty ? `{{${part.key}}}` : part.text)
        : part.text))));
    const missing = (template.parameters || []).some((p) => !(this.values[p.key] || '').trim());
    sendButton.disabled = missing || this.busy;
  }

  async sendTemplate() {
    const template = this.template;
    if (!template || this.busy) return;
    if (!(await this.guardOtherAgent())) return;
    const variables = {};
    for (const p of template.parameters || []) variables[p.key] = this.values[p.key].trim();
    const rendered = templateParts(template.body_text, variables).map((p) => p.text).join('');
    const ok = await this.submit({ kind: 'template', template_name: template.name, language: template.language, variables }, rendered);
    if (ok) {
      this.forceTemplate = false;
      this.template = null;
      this.values = {};
      this.render();
    }
  }

  focus() {
    (this.el.querySelector('textarea, select'))?.focus();
  }
}
