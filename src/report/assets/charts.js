/*
 * Draws the report's charts from their JSON specs (the #vmexit-lab-charts script element), after
 * Chart.js; the log-scale toggles; sets body[data-charts-drawn]. Inlined by src/report/assets.ts
 * (this comment is left out).
 */
(function () {
  'use strict';
  var el = document.getElementById('vmexit-lab-charts');
  if (!el) return;
  var specs = JSON.parse(el.textContent || '[]');
  if (typeof Chart === 'undefined') throw new Error('vmexit-lab report: Chart.js is missing');
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#333';
  // The figure rules of src/results/figures.ts (formatFigure), from the FIGURE_FORMAT the spec carries.
  var formats = null;
  function fmt(n, f) {
    if (!isFinite(n)) return String(n);
    if (n === 0) return '0';
    if (!formats) formats = {
      bands: f.bands.map(function (b) { return { from: b.from, format: new Intl.NumberFormat(f.locale, b.options) }; }),
      tiny: new Intl.NumberFormat(f.locale, f.tiny)
    };
    var a = Math.abs(n);
    for (var i = 0; i < formats.bands.length; i++) if (a >= formats.bands[i].from) return formats.bands[i].format.format(n);
    return formats.tiny.format(n);
  }
  // Figures at the end of bars: each bar's value, or the total of a stack.
  Chart.register({
    id: 'vmexitValueLabels',
    afterDatasetsDraw: function (chart, args, opts) {
      if (!opts || !opts.mode) return;
      var ctx = chart.ctx;
      var horizontal = chart.options.indexAxis === 'y';
      var suffix = opts.suffix || '';
      ctx.save();
      ctx.font = '600 12px ' + Chart.defaults.font.family;
      ctx.fillStyle = '#222';
      ctx.textAlign = horizontal ? 'left' : 'center';
      ctx.textBaseline = horizontal ? 'middle' : 'bottom';
      function put(text, elem) {
        if (horizontal) ctx.fillText(text, elem.x + 6, elem.y);
        else ctx.fillText(text, elem.x, elem.y - 4);
      }
      if (opts.mode === 'each') {
        chart.data.datasets.forEach(function (ds, di) {
          if (!chart.isDatasetVisible(di)) return;
          chart.getDatasetMeta(di).data.forEach(function (elem, i) {
            var v = ds.data[i];
            if (v === null || v === undefined) return;
            put(fmt(v, opts.format) + suffix, elem);
          });
        });
      } else if (opts.mode === 'stackTotal') {
        (chart.data.labels || []).forEach(function (label, i) {
          var total = 0, end = null, all = true;
          chart.data.datasets.forEach(function (ds, di) {
            if (!chart.isDatasetVisible(di)) { all = false; return; }
            var v = ds.data[i];
            if (typeof v !== 'number') return;
            total += v;
            var elem = chart.getDatasetMeta(di).data[i];
            if (elem && (end === null || (horizontal ? elem.x > end.x : elem.y < end.y))) end = elem;
          });
          // With every reason shown, the exact total (the segments are rounded).
          if (all && opts.totals && typeof opts.totals[i] === 'number') total = opts.totals[i];
          if (end) put(fmt(total, opts.format) + suffix, end);
        });
      }
      ctx.restore();
    }
  });
  var drawn = [];
  specs.forEach(function (spec) {
    var canvas = document.getElementById(spec.canvas);
    if (!canvas) throw new Error('vmexit-lab report: no canvas ' + spec.canvas);
    var y = spec.config.options && spec.config.options.scales && spec.config.options.scales.y;
    var linearY = y ? JSON.stringify(y) : null;
    drawn.push({ spec: spec, linearY: linearY, chart: new Chart(canvas, spec.config) });
  });
  Array.prototype.forEach.call(document.querySelectorAll('input[data-log-toggle]'), function (box) {
    box.addEventListener('change', function () {
      var group = box.getAttribute('data-log-toggle');
      drawn.forEach(function (d) {
        if (d.spec.group !== group || !d.linearY) return;
        var y = JSON.parse(d.linearY);
        if (box.checked) { y.type = 'logarithmic'; delete y.beginAtZero; }
        d.chart.options.scales.y = y;
        d.chart.update();
      });
    });
  });
  document.body.setAttribute('data-charts-drawn', String(drawn.length));
})();
