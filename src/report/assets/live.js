/*
 * Shared by runs.js and run.js, included at their "@include live.js" line: reads the page's
 * settings from #vmexit-lab-live, formats a run's state and progress as the server does
 * (src/report/html.ts), and polls the runs API. Builds DOM with textContent only (no HTML from
 * data). Not valid on its own: it is the inside of their function.
 */
  var live = JSON.parse(document.getElementById('vmexit-lab-live').textContent);
  var status = document.getElementById('live-status');
  function pct(p) { return Math.floor(Math.max(0, Math.min(1, p.fraction)) * 100) + ' %'; }
  function simRound(x, limit) { return String(limit < 100 ? Math.round(x * 10) / 10 : Math.round(x)); }
  function progressText(p) {
    if (!p) return '-';
    if (typeof p.simSeconds !== 'number' || typeof p.limitSeconds !== 'number') return pct(p);
    var sim = simRound(p.simSeconds, p.limitSeconds) + ' of ' + simRound(p.limitSeconds, p.limitSeconds) + ' simulated s';
    if (typeof p.tasksTotal === 'number' && typeof p.tasksDone === 'number' && p.tasksTotal > 1 && p.tasksDone < p.tasksTotal)
      return pct(p) + ': ' + p.tasksDone + ' of ' + p.tasksTotal + ' tasks done, the least advanced at ' + sim;
    // As progressText in src/report/servicePages.ts: an until-complete run done before its cap.
    if (p.fraction >= 1 && p.simSeconds < p.limitSeconds)
      return pct(p) + ', done at ' + simRound(p.simSeconds, p.limitSeconds) + ' simulated s (at most ' + simRound(p.limitSeconds, p.limitSeconds) + ')';
    return pct(p) + ', ' + sim;
  }
  function fmtTime(iso) {
    if (!iso) return '-';
    var m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(iso);
    return m ? m[1] + ' ' + m[2] + ' UTC' : iso;
  }
  // As runBadge() in src/report/servicePages.ts: a completed run whose results fail is red and says why.
  function runFailed(state, summary) {
    return state === 'completed' && summary && typeof summary.exitStatus === 'number' && summary.exitStatus !== 0;
  }
  // As runBadge in src/report/servicePages.ts (STOPPED_BY): what stopped a cancelled run other than a
  // DELETE, a queued run's place.
  var stoppedBy = { time_limit: 'wall-clock limit', shutdown: 'service shut down' };
  function setBadge(elem, state, summary, stopReason, queue) {
    var status = summary && typeof summary.exitStatus === 'number' ? summary.exitStatus : null;
    var failed = runFailed(state, summary);
    var by = state === 'cancelled' && Object.prototype.hasOwnProperty.call(stoppedBy, stopReason) ? stoppedBy[stopReason]
      : state === 'queued' && queue && typeof queue.position === 'number' ? (queue.position === 1 ? 'next' : String(queue.position)) + ' in the ' + queue.lane + ' lane'
      : null;
    elem.textContent = failed ? 'completed: ' + (status === 1 ? 'threshold failed' : status === 3 ? 'invariant violation' : 'exit status ' + status) : by ? state + ': ' + by : state;
    elem.className = 'badge state' + (/^[a-z]+$/.test(state) ? ' state-' + state : '') + (failed ? ' fail' : '');
    elem.setAttribute('data-state', state);
    if (status === null) elem.removeAttribute('data-exit-status'); else elem.setAttribute('data-exit-status', String(status));
  }
  function setProgress(cell, p) {
    while (cell.firstChild) cell.removeChild(cell.firstChild);
    var bar = document.createElement('progress');
    bar.max = 1;
    bar.value = p ? Math.max(0, Math.min(1, p.fraction)) : 0;
    var text = document.createElement('span');
    text.className = 'progress-text';
    text.textContent = progressText(p);
    cell.appendChild(bar);
    cell.appendChild(document.createTextNode(' '));
    cell.appendChild(text);
  }
  function stamp(ok, text) {
    if (status) status.textContent = ok ? 'live: updated ' + new Date().toISOString().slice(11, 19) + ' UTC' : 'live updates paused: ' + text;
  }
  function poll(onJson) {
    var stopped = false;
    function tick() {
      if (stopped) return;
      fetch(live.pollUrl, { headers: { accept: 'application/json' }, cache: 'no-store' })
        .then(function (res) { if (!res.ok) throw new Error('HTTP ' + res.status); return res.json(); })
        .then(function (json) { stamp(true); if (onJson(json) === false) stopped = true; })
        .catch(function (e) { stamp(false, String(e && e.message || e)); })
        .then(function () { if (!stopped) setTimeout(tick, live.intervalMs); });
    }
    setTimeout(tick, live.intervalMs);
  }
