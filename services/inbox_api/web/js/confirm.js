// A yes/no question in the shared <dialog id="confirm">, with the action's own words on the button.
import { $ } from './state.js';

export function ask(title, text, okLabel = 'OK', { danger = false } = {}) {
  const dialog = $('confirm');
  const ok = dialog.querySelector('[value="ok"]');
  const before = ok.textContent;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  ok.textContent = okLabel;
  ok.classList.toggle('btn-danger', danger);
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      ok.textContent = before;
      ok.classList.remove('btn-danger');
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
    dialog.showModal();
    dialog.querySelector('[value="cancel"]').focus();
  });
}
