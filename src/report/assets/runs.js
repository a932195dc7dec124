/*
 * The service's runs index (/): redraws the table of runs from each poll of the runs API.
 * Inlined by src/report/assets.ts, with live.js in place of the include line (this comment is left out).
 */
(function () {
  'use strict';
  /* @include live.js */
  var tbody = document.getElementById('runs-body');
  var empty = document.getElementById('runs-empty');
  var table = document.getElementById('runs-table');
  function row(run) {
    var tr = document.createElement('tr');
    tr.setAttribute('data-run-id', run.id);
    if (runFailed(run.state, run.summary)) tr.className = 'fail';
    var a = document.createElement('a');
    a.href = live.runHrefPrefix + encodeURIComponent(run.id);
    a.textContent = run.id;
    var td = document.createElement('td'); td.appendChild(a); tr.appendChild(td);
    td = document.createElement('td'); td.textContent = run.scenario; tr.appendChild(td);
    td = document.createElement('td'); var b = document.createElement('span'); setBadge(b, run.state, run.summary, run.stopReason, run.queue); td.appendChild(b); tr.appendChild(td);
    td = document.createElement('td'); td.className = 'progress'; setProgress(td, run.progress); tr.appendChild(td);
    td = document.createElement('td'); td.textContent = fmtTime(run.startedAt); tr.appendChild(td);
    return tr;
  }
  if (live.pollUrl) poll(function (json) {
    var runs = Array.isArray(json) ? json : (json && json.runs) || [];
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    runs.forEach(function (run) { tbody.appendChild(row(run)); });
    table.hidden = runs.length === 0;
    empty.hidden = runs.length !== 0;
  });
})();
