/*
 * A run's page (/runs/ID) while the run is queued or running: state badge and progress from each
 * poll; reloads the page when the run ends (the server then renders the report). Inlined by
 * src/report/assets.ts, with live.js in place of the include line (this comment is left out).
 */
(function () {
  'use strict';
  /* @include live.js */
  var badge = document.getElementById('run-state');
  var cell = document.getElementById('run-progress');
  if (live.pollUrl) poll(function (run) {
    if (!run || typeof run.state !== 'string') return;
    setBadge(badge, run.state, run.summary);
    if (cell) setProgress(cell, run.progress);
    if (live.liveStates.indexOf(run.state) < 0) {
      // The run is over: the server renders its report now.
      if (status) status.textContent = 'run ' + run.state + ': loading its report';
      location.reload();
      return false;
    }
  });
})();
