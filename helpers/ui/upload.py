"""A guard in the browser for the playground's upload button: pictures too large for one kernel message.

ipywidgets' ``FileUpload`` sends the whole file to the kernel in one websocket message. The Jupyter server
(tornado) closes the connection on a message over ``websocket_max_message_size``, 10 MiB unless configured,
so a phone photo never arrives; the frontend reconnects, but the upload widget keeps waiting for the reply
to the lost message and sends nothing again. The kernel never sees any of it, so only the browser can help.

The guard is a few lines of JavaScript in an ``HTML`` widget beside the button (an ``<img onerror>``
handler, which ipywidgets' HTML view runs). It opens the file chooser itself; a picture under ``LIMIT``
goes to the ``FileUpload`` unchanged, a larger one is first scaled in the browser to at most ``SIDE`` px
(the largest the playground uses) and sent as a JPEG, with a note saying so. Where the frontend does not
run it, the note still states the limit. Nothing here imports ipywidgets.
"""

from __future__ import annotations

import html

__all__ = ["BUTTON_CLASS", "LIMIT", "NOTE_CLASS", "ROW_CLASS", "SIDE", "guard_html", "limit_note"]

LIMIT = 9 * 2**20
"""Largest file sent unchanged: tornado's default 10 MiB message limit, less room for the message around it."""
SIDE = 1024
ROW_CLASS, BUTTON_CLASS, NOTE_CLASS = "nst-upload-row", "nst-upload", "nst-upload-note"

_SCRIPT = """(() => {
  const row = this.closest('.__ROW__');
  if (!row || row.dataset.nstGuard) return;
  row.dataset.nstGuard = 'on';
  const note = row.querySelector('.__NOTE__');
  const say = (text) => { if (note) note.textContent = text; };
  const mib = (bytes) => (bytes / 1048576).toFixed(1) + ' MiB';
  const standing = 'a picture over ' + mib(__LIMIT__) + ' is scaled to __SIDE__ px before it is sent';
  say(standing);
  let passing = false;
  const hand = (file) => {
    const click = HTMLInputElement.prototype.click;
    let input = null;
    HTMLInputElement.prototype.click = function () { input = this; };
    passing = true;
    try { row.querySelector('.__BUTTON__').click(); }
    finally { passing = false; HTMLInputElement.prototype.click = click; }
    if (!input) { say('the upload button did not answer; run the cell again'); return; }
    const files = new DataTransfer();
    files.items.add(file);
    input.files = files.files;
    input.dispatchEvent(new Event('change'));
  };
  const shrink = async (file) => {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, __SIDE__ / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff'; /* transparency onto white, as helpers.load_image flattens it */
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((done) => canvas.toBlob(done, 'image/jpeg', 0.92));
    const name = file.name.replace(/\\.[^.]*$/, '') + '.jpg';
    return {file: new File([blob], name, {type: 'image/jpeg'}), from: bitmap.width + 'x' + bitmap.height,
            to: canvas.width + 'x' + canvas.height};
  };
  const send = async (file) => {
    if (file.size <= __LIMIT__) { say(standing); hand(file); return; }
    const over = file.name + ' is ' + mib(file.size) + ', more than Jupyter passes to the kernel in one message';
    let small = null;
    try { small = await shrink(file); } catch (error) { small = null; }
    if (small === null) {
      say(over + ', and this browser cannot read it to make a smaller copy: save it as a JPEG under '
          + mib(__LIMIT__) + ' and upload that');
    } else if (small.file.size > __LIMIT__) {
      say(over + ', and even scaled to ' + small.to + ' px it is ' + mib(small.file.size) + ': use a smaller picture');
    } else {
      say(over + ': sent a copy scaled in the browser from ' + small.from + ' to ' + small.to + ' px ('
          + mib(small.file.size) + ')');
      hand(small.file);
    }
  };
  row.addEventListener('click', (event) => {
    const button = event.target.closest('.__BUTTON__');
    if (passing || !button || button.disabled) return;
    event.stopImmediatePropagation();
    event.preventDefault();
    const picker = document.createElement('input');
    picker.type = 'file';
    picker.accept = 'image/*';
    picker.addEventListener('change', () => { if (picker.files.length) send(picker.files[0]); });
    picker.click();
  }, true);
})()"""


def limit_note() -> str:
    """The note shown beside the button before the guard runs (and where it cannot run)."""
    return f"pictures up to {LIMIT / 2**20:.0f} MiB (the Jupyter server's message limit)"


def guard_html() -> str:
    """The ``HTML`` widget value that installs the guard on the ``FileUpload`` in the same ``ROW_CLASS`` box."""
    script = _SCRIPT
    for name, value in (
        ("ROW", ROW_CLASS),
        ("NOTE", NOTE_CLASS),
        ("BUTTON", BUTTON_CLASS),
        ("LIMIT", str(LIMIT)),
        ("SIDE", str(SIDE)),
    ):
        script = script.replace(f"__{name}__", value)
    return (
        f'<div class="{NOTE_CLASS}" style="font-size:11px;line-height:1.3;color:#555">{html.escape(limit_note())}</div>'
        f'<img src="data:," alt="" style="display:none" onerror="{html.escape(script, quote=True)}">'
    )
