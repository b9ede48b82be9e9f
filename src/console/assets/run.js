'use strict';
// Steps 5 and 6 of the page: the run (start, pause, resume, stop, its progress pushed by the
// server as events, drawn as a bar, counts and a small chart) and its results (table by
// status, download, retry, verify, undo). No framework, no library: the chart is a canvas.
//
// What to import: by default the file and mapping the earlier steps settled on the server
// (the start names nothing). A page may name them instead on an element with a
// `data-import-file` attribute (and `data-import-mapping`, `data-import-sheet`,
// `data-import-header-row`), or by dispatching an `orgimport:import` event on `document`
// whose `detail` is `{file, mapping, sheet, header_row}`. The choice for existing
// organizations is the plan step's, kept on the server.
(() => {
  const $ = (id) => document.getElementById(id);
  const section = $('run');
  if (!section) return;

  const ui = {
    start: $('run-start'), pause: $('run-pause'), resume: $('run-resume'), stop: $('run-stop'),
    bar: $('run-bar'), eta: $('run-eta'), counts: $('run-counts'), chart: $('run-chart'),
    ended: $('run-ended'),
    download: $('results-download'), retry: $('results-retry'), verify: $('results-verify'),
    undo: $('results-undo'), said: $('results-said'), filter: $('results-filter'),
    table: $('results-table'), prev: $('results-prev'), next: $('results-next'),
    page: $('results-page'),
  };

  let chosen = null;      // what to import, as the earlier steps said
  let events = null;      // the EventSource of the run in progress
  let samples = [];       // the chart's points: {rate, refused, reply}
  let lastRefused = null; // 429s at the previous snapshot
  let lastProgress = null; // the latest snapshot of the run shown
  let endedCounts = null;  // the rows by status when the run shown ended
  let tablePage = 0;
  const PAGE = 50;

  document.addEventListener('orgimport:import', (e) => { chosen = e.detail || null; });

  function whatToImport() {
    if (chosen && chosen.file) return chosen;
    const el = document.querySelector('[data-import-file]');
    if (!el) return {};
    const row = el.getAttribute('data-import-header-row');
    return {
      file: el.getAttribute('data-import-file'),
      mapping: el.getAttribute('data-import-mapping') || null,
      sheet: el.getAttribute('data-import-sheet') || null,
      header_row: row ? Number(row) : null,
    };
  }

  async function call(method, path, body) {
    const options = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    const reply = await fetch(path, options);
    const data = await reply.json().catch(() => ({}));
    if (!reply.ok) throw new Error(data.error || `${reply.status} ${reply.statusText}`);
    return data;
  }

  function say(el, text) { el.textContent = text; }

  function plural(n, word) { return `${n} ${word}${n === 1 ? '' : 's'}`; }

  function countsText(counts) {
    const parts = Object.entries(counts || {}).map(([status, n]) => `${n} ${status.replace('_', ' ')}`);
    return parts.length ? parts.join(', ') : 'none yet';
  }

  function clock(seconds) {
    if (!isFinite(seconds) || seconds < 0) return '';
    const s = Math.round(seconds);
    const m = Math.floor(s / 60);
    return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
  }

  function buttons(state) {
    const running = state === 'running' || state === 'paused';
    ui.start.disabled = running;
    ui.pause.disabled = state !== 'running';
    ui.resume.disabled = state !== 'paused';
    ui.stop.disabled = !running;
  }

  function showProgress(p) {
    lastProgress = p;
    const total = p.total || 0;
    const done = p.done || 0;
    ui.bar.max = Math.max(total, 1);
    ui.bar.value = done;
    const phase = {
      opening: 'Opening the file', planning: 'Checking every row',
      reading_tenant: 'Reading the tenant', sending: 'Sending',
      writing: 'Writing the results file', finished: 'Finished',
    }[p.phase] || p.phase;
    const rate = p.seconds > 0 ? done / p.seconds : 0;
    const left = rate > 0 ? (total - done) / rate : NaN;
    say(ui.eta, p.phase === 'sending' && total > done && rate > 0
      ? `About ${clock(left)} left.` : '');
    const paused = p.paused ? ' (paused: no new row is sent)' : '';
    say(ui.counts,
      `${phase}${paused}: ${done} of ${plural(total, 'row')} done (${countsText(p.counts)}); ` +
      `${plural(p.requests || 0, 'request')}, ${p.refused || 0} answered 429` +
      (p.reply_ms != null ? `, replies in ${Math.round(p.reply_ms)} ms` : '') + '.');
    if (p.phase === 'sending') {
      const refused = lastRefused == null ? 0 : Math.max(0, (p.refused || 0) - lastRefused);
      lastRefused = p.refused || 0;
      samples.push({ rate: p.per_second || 0, refused, reply: p.reply_ms || 0 });
      if (samples.length > 150) samples.shift();
      draw();
    }
    buttons(p.paused ? 'paused' : 'running');
  }

  // The chart: requests per second (line), 429s (bars), reply time (dashed line), each on
  // its own scale, the latest at the right.
  function draw() {
    const c = ui.chart;
    const g = c.getContext && c.getContext('2d');
    if (!g) return;
    const w = c.width, h = c.height, pad = 18;
    g.clearRect(0, 0, w, h);
    g.font = '11px sans-serif';
    const n = samples.length;
    if (n === 0) return;
    const step = (w - 2 * pad) / Math.max(n - 1, 1);
    const top = (key) => Math.max(1, ...samples.map((s) => s[key]));
    const y = (v, max) => h - pad - (v / max) * (h - 2 * pad);
    const maxRate = top('rate'), maxRefused = top('refused'), maxReply = top('reply');
    g.fillStyle = '#c0392b';
    samples.forEach((s, i) => {
      if (s.refused > 0) g.fillRect(pad + i * step - 1, y(s.refused, maxRefused), 3, h - pad - y(s.refused, maxRefused));
    });
    const line = (key, max, color, dash) => {
      g.beginPath();
      g.setLineDash(dash);
      g.strokeStyle = color;
      samples.forEach((s, i) => {
        const px = pad + i * step, py = y(s[key], max);
        if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
      });
      g.stroke();
      g.setLineDash([]);
    };
    line('rate', maxRate, '#1f6feb', []);
    line('reply', maxReply, '#6e7781', [4, 3]);
    const last = samples[n - 1];
    g.fillStyle = '#1f6feb';
    g.fillText(`${last.rate.toFixed(1)} requests/s`, pad, 12);
    g.fillStyle = '#6e7781';
    g.fillText(`reply ${Math.round(last.reply)} ms`, w / 2 - 40, 12);
    g.fillStyle = '#c0392b';
    g.fillText(`429s: ${samples.reduce((a, s) => a + s.refused, 0)}`, w - pad - 70, 12);
  }

  function showEnded(ended) {
    const unsentRows = (ended.counts || {}).not_sent || 0;
    if (ended.interrupted && lastProgress) {
      // A stopped run is not finished: what is left is said, and how to finish it.
      const total = lastProgress.total || 0;
      say(ui.counts,
        `Stopped: ${lastProgress.done || 0} of ${plural(total, 'row')} done ` +
        `(${countsText(ended.counts)}). "Start import" again (or orgimport import) sends ` +
        `the ${plural(unsentRows, 'row')} not sent.`);
    }
    say(ui.ended, ended.summary + (ended.error && !ended.summary.includes(ended.error) ? ` (${ended.error})` : ''));
    buttons('ended');
    for (const b of [ui.download, ui.retry, ui.verify, ui.undo]) b.hidden = false;
    const failed = (ended.counts || {}).failed || 0;
    const unsent = (ended.counts || {}).not_sent || 0;
    ui.retry.disabled = failed + unsent === 0 && ((ended.counts || {}).unconfirmed || 0) === 0;
    endedCounts = ended.counts || {};
    loadTable();
  }

  function showRun(run) {
    if (!run) return;
    if (run.progress) showProgress(run.progress);
    if (run.ended) showEnded(run.ended);
    else listen();
  }

  function listen() {
    if (events) return;
    events = new EventSource('/api/run/events');
    events.addEventListener('progress', (e) => showProgress(JSON.parse(e.data)));
    events.addEventListener('ended', (e) => {
      const data = JSON.parse(e.data);
      events.close();
      events = null;
      showProgress(data.progress);
      showEnded(data.ended);
    });
    events.onerror = () => {
      // The stream ended or the console went away: the run as it stands, once.
      if (events && events.readyState === EventSource.CLOSED) {
        events = null;
        call('GET', '/api/run').then((d) => showRun(d.run)).catch(() => {});
      }
    };
  }

  function started(data) {
    samples = [];
    lastRefused = null;
    say(ui.ended, '');
    for (const b of [ui.download, ui.retry, ui.verify, ui.undo]) b.hidden = true;
    showRun(data.run);
  }

  ui.start.addEventListener('click', async () => {
    const what = whatToImport();
    ui.start.disabled = true;
    try {
      started(await call('POST', '/api/run/start', what));
    } catch (e) {
      say(ui.counts, e.message);
      ui.start.disabled = false;
    }
  });

  const press = (button, path) => button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const data = await call('POST', path, {});
      if (data.run) showRun(data.run);
    } catch (e) {
      say(ui.counts, e.message);
      button.disabled = false;
    }
  });
  press(ui.pause, '/api/run/pause');
  press(ui.resume, '/api/run/resume');
  press(ui.stop, '/api/run/stop');

  async function loadTable() {
    const status = ui.filter.value;
    const query = new URLSearchParams({ page: String(tablePage), size: String(PAGE) });
    if (status) query.set('status', status);
    let data;
    try {
      data = await call('GET', `/api/results?${query}`);
    } catch (e) {
      say(ui.said, e.message);
      return;
    }
    const body = ui.table.tBodies[0];
    body.replaceChildren();
    for (const row of data.rows) {
      const tr = document.createElement('tr');
      for (const cell of [row.line, row.name, row.status, row.org_id || '', row.error || '']) {
        const td = document.createElement('td');
        td.textContent = String(cell);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    if (endedCounts && data.counts) followFile(data.counts);
    const pages = Math.max(1, Math.ceil(data.total / data.size));
    say(ui.page, `Page ${data.page + 1} of ${pages} (${plural(data.total, 'row')})`);
    ui.prev.disabled = data.page === 0;
    ui.next.disabled = data.page + 1 >= pages;
  }

  // The results file is the truth: finished by `orgimport import`, or by another run, since
  // the run shown ended, it holds other counts. The page says so, shows the file's counts, and
  // Retry follows them.
  function followFile(counts) {
    const statuses = new Set([...Object.keys(counts), ...Object.keys(endedCounts)]);
    const changed = [...statuses].some((s) => (counts[s] || 0) !== (endedCounts[s] || 0));
    if (!changed) return;
    const left = (counts.failed || 0) + (counts.not_sent || 0) + (counts.unconfirmed || 0);
    say(ui.counts, `The results file changed since this run ended (finished by orgimport ` +
      `import, or by another run): it now holds ${countsText(counts)}.`);
    say(ui.ended, left === 0 ? 'Every row is done: nothing to retry.'
      : `${plural(left, 'row')} not done: "Retry the failed rows" sends them.`);
    ui.retry.disabled = left === 0;
  }

  ui.filter.addEventListener('change', () => { tablePage = 0; loadTable(); });
  ui.prev.addEventListener('click', () => { tablePage = Math.max(0, tablePage - 1); loadTable(); });
  ui.next.addEventListener('click', () => { tablePage += 1; loadTable(); });

  ui.retry.addEventListener('click', async () => {
    try {
      started(await call('POST', '/api/results/retry', {}));
    } catch (e) {
      say(ui.said, e.message);
    }
  });

  ui.verify.addEventListener('click', async () => {
    ui.verify.disabled = true;
    say(ui.said, 'Reading every created organization back from the tenant…');
    try {
      const data = await call('POST', '/api/results/verify', {});
      say(ui.said, data.summary);
    } catch (e) {
      say(ui.said, e.message);
    }
    ui.verify.disabled = false;
  });

  ui.undo.addEventListener('click', async () => {
    try {
      const asked = await call('GET', '/api/results/undo');
      if (asked.organizations === 0 && asked.unconfirmed === 0) {
        say(ui.said, 'The results file lists no organization created: nothing to delete.');
        return;
      }
      if (!window.confirm(asked.question)) return;
      ui.undo.disabled = true;
      say(ui.said, `Deleting ${plural(asked.organizations, 'organization')}…`);
      const done = await call('POST', '/api/results/undo', { organizations: asked.organizations });
      say(ui.said, done.summary);
      loadTable();
    } catch (e) {
      say(ui.said, e.message);
    }
    ui.undo.disabled = false;
  });

  // When an earlier step's section is put in place again (a file read, columns saved, a
  // cell fixed, a plan made), the line saying what Start imports is asked for again.
  const main = section.parentNode;
  if (main && window.MutationObserver) {
    new MutationObserver(async (changes) => {
      const earlier = changes.some((c) => [...c.addedNodes].some((n) =>
        n.id && ['file', 'columns', 'review', 'plan'].includes(n.id)));
      if (!earlier) return;
      const reply = await fetch('/part/run', { credentials: 'same-origin' });
      if (!reply.ok) return;
      const holder = document.createElement('div');
      holder.innerHTML = await reply.text();
      const fresh = holder.querySelector('#run-what');
      if (fresh && $('run-what')) say($('run-what'), fresh.textContent);
    }).observe(main, { childList: true });
  }

  // The page opened again shows the run as it stands.
  const state = section.getAttribute('data-run');
  if (state) {
    try { showRun(JSON.parse(state)); } catch (_) { /* shown on the next event */ }
  } else {
    buttons('none');
    ui.start.disabled = false;
  }
})();
