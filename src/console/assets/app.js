// The console's page: steps 1-4 (file, columns, review, plan). Each action calls the JSON API
// (same origin: the browser sends the cookie and the Origin), then asks the server for the
// sections it changed (/part/STEP) and puts them in place. No framework, no dependency.
'use strict';

(function () {
  const review = { page: 1, kind: '' };
  let lastError = ''; // what the API last refused, said again once its section is redrawn

  // Replaces the section of `step` with the server's rendering of it, keeping the focus on
  // the element of the same id when there was one.
  async function refresh(step, query) {
    const focused = document.activeElement && document.activeElement.id;
    const reply = await fetch('/part/' + step + (query || ''), { credentials: 'same-origin' });
    if (!reply.ok) return;
    const html = await reply.text();
    const old = document.getElementById(step);
    if (!old) return;
    const holder = document.createElement('div');
    holder.innerHTML = html;
    const fresh = holder.firstElementChild;
    old.replaceWith(fresh);
    if (focused) {
      const again = document.getElementById(focused);
      if (again) again.focus();
    }
  }

  function reviewQuery() {
    const q = new URLSearchParams();
    q.set('page', String(review.page));
    if (review.kind) q.set('kind', review.kind);
    return '?' + q.toString();
  }

  async function refreshAfter(steps) {
    for (const step of steps) {
      await refresh(step, step === 'review' ? reviewQuery() : '');
    }
  }

  // Calls the API; returns the JSON body, or shows the error in `status` and returns null.
  async function call(method, path, body, status, contentType) {
    const options = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      options.body = body;
      options.headers['Content-Type'] = contentType || 'application/json';
    }
    say(status, 'Working…');
    let reply;
    try {
      reply = await fetch(path, options);
    } catch (e) {
      say(status, 'The console does not answer: is it still running?', true);
      return null;
    }
    const data = await reply.json().catch(() => ({}));
    if (!reply.ok) {
      lastError = data.error || ('Refused (' + reply.status + ')');
      say(status, lastError, true);
      return null;
    }
    say(status, '');
    return data;
  }

  function say(id, text, alarm) {
    const el = document.getElementById(id);
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('error', !!alarm);
  }

  // The CLI's message names its flag; in the page, --encoding is the Encoding box.
  function hintEncoding() {
    const box = document.getElementById('encoding');
    if (!box) return;
    for (const el of document.querySelectorAll('#file .error, #file-status')) {
      if (!el.textContent.includes('--encoding') || el.querySelector('.hint')) continue;
      const hint = document.createElement('span');
      hint.className = 'hint';
      hint.textContent = ' In this page, --encoding is the Encoding box below: type the ' +
        'encoding there (windows-1252 for most Excel CSV files) and press "Read again".';
      el.appendChild(hint);
    }
  }

  function focusStep(step) {
    const heading = document.getElementById(step + '-title');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  }

  // Step 1: the file, chosen or dropped, streamed as the request body.
  async function upload(file) {
    if (!file) return;
    say('file-status', 'Uploading ' + file.name + '…');
    const data = await call('PUT', '/api/file?name=' + encodeURIComponent(file.name), file,
      'file-status', 'application/octet-stream');
    review.page = 1;
    review.kind = '';
    await refreshAfter(['file', 'columns', 'review', 'plan']);
    if (data) say('file-status', file.name + ': ' + data.rows + ' rows read.');
    hintEncoding();
  }

  document.addEventListener('change', async (event) => {
    const t = event.target;
    if (t.id === 'customer-file') {
      await upload(t.files && t.files[0]);
    } else if (t.id === 'problem-kind') {
      review.kind = t.value;
      review.page = 1;
      await refresh('review', reviewQuery());
    } else if (t.name === 'on_existing') {
      const data = await call('POST', '/api/plan/on-existing',
        JSON.stringify({ on_existing: t.value }), 'plan-counts');
      if (data) say('on-existing-consequence', data.consequence);
    } else if (t.dataset && t.dataset.index !== undefined && t.dataset.column !== undefined) {
      await editCell(t);
    }
  });

  // Step 3: a cell's new value, checked again by the server.
  async function editCell(input) {
    const data = await call('POST', '/api/review/cell', JSON.stringify({
      index: Number(input.dataset.index),
      column: Number(input.dataset.column),
      value: input.value,
    }), 'review-counts');
    if (!data) return;
    await refreshAfter(['review', 'plan']);
    say('review-counts', data.rows + ' rows: ' + data.valid + ' valid, ' + data.invalid +
      ' with problems' + (data.row ? '' : ' (that row is fixed)'));
  }

  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (form.id === 'read-as') {
      event.preventDefault();
      const body = {};
      for (const [k, v] of new FormData(form).entries()) {
        if (v === '') continue;
        body[k] = k === 'header_row' ? Number(v) : v;
      }
      const data = await call('POST', '/api/file/read', JSON.stringify(body), 'file-status');
      await refreshAfter(['file', 'columns', 'review', 'plan']);
      // The refusal outlives the redraw (the file stays as it was read).
      if (!data) say('file-status', lastError, true);
      hintEncoding();
    } else if (form.id === 'columns-form') {
      event.preventDefault();
      const choices = Array.from(form.querySelectorAll('select')).map((s) => s.value);
      const data = await call('POST', '/api/columns', JSON.stringify({ choices }), 'columns-status');
      if (!data) return;
      review.page = 1;
      review.kind = '';
      await refreshAfter(['columns', 'review', 'plan']);
      focusStep('review');
    } else if (form.id === 'review-filter') {
      event.preventDefault();
    }
  });

  document.addEventListener('click', async (event) => {
    const t = event.target.closest('button');
    if (!t) return;
    if (t.dataset.next) {
      focusStep(t.dataset.next);
    } else if (t.dataset.page) {
      review.page = Number(t.dataset.page);
      await refresh('review', reviewQuery());
      focusStep('review');
    } else if (t.id === 'plan-make') {
      t.disabled = true;
      say('plan-status', 'Reading the tenant…');
      const data = await call('POST', '/api/plan', JSON.stringify({}), 'plan-status');
      await refresh('plan');
      // The refusal (rejected credentials, a tenant that does not answer) outlives the redraw.
      if (!data) say('plan-status', lastError, true);
      focusStep('plan');
    }
  });

  // A cell commits on Enter as on leaving it.
  document.addEventListener('keydown', (event) => {
    const t = event.target;
    if (event.key === 'Enter' && t.dataset && t.dataset.column !== undefined) {
      event.preventDefault();
      t.blur();
    }
  });

  // Dropping a file anywhere on the drop zone.
  document.addEventListener('dragover', (event) => {
    if (event.target.closest && event.target.closest('#drop')) event.preventDefault();
  });
  document.addEventListener('drop', async (event) => {
    if (!(event.target.closest && event.target.closest('#drop'))) return;
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    await upload(file);
  });
})();
