/*
 * A run's page (/runs/ID) while the run is queued or running: state badge, progress and the figures
 * so far (the "So far" table) from each poll; reloads the page when the run ends (the server then
 * renders the report). Inlined by src/report/assets.ts, with live.js in place of the include line
 * (this comment is left out).
 */
(function () {
  'use strict';
  /* @include live.js */
  var badge = document.getElementById('run-state');
  var cell = document.getElementById('run-progress');
  var liveTable = document.getElementById('run-live');
  var liveBody = document.getElementById('run-live-body');
  var liveEmpty = document.getElementById('run-live-empty');
  // As liveRows() in src/report/servicePages.ts.
  function count(x) { return Math.round(x).toLocaleString('en-US'); }
  function setLive(rows) {
    if (!liveBody || !Array.isArray(rows)) return;
    while (liveBody.firstChild) liveBody.removeChild(liveBody.firstChild);
    rows.forEach(function (v) {
      var tr = document.createElement('tr');
      var reasons = (Array.isArray(v.topExits) ? v.topExits : []).map(function (x) {
        return x.reason + ' ' + (x.share * 100).toFixed(1) + '\u00a0%';
      }).join(', ');
      [String(v.name), String(Math.floor(v.simSeconds * 10) / 10), count(v.exitsTotal), v.simSeconds > 0 ? count(v.exitsPerGuestSecond) : '-', reasons || '-'].forEach(function (text) {
        var td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      });
      liveBody.appendChild(tr);
    });
    if (liveTable) liveTable.hidden = rows.length === 0;
    if (liveEmpty) liveEmpty.hidden = rows.length > 0;
  }
  if (live.pollUrl) poll(function (run) {
    if (!run || typeof run.state !== 'string') return;
    setBadge(badge, run.state, run.summary, run.stopReason, run.queue);
    if (cell) setProgress(cell, run.progress);
    setLive(run.live);
    if (live.liveStates.indexOf(run.state) < 0) {
      // The run is over: the server renders its report now.
      if (status) status.textContent = 'run ' + run.state + ': loading its report';
      location.reload();
      return false;
    }
  });
})();
