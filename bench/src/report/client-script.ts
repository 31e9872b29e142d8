// The page's own script (plain browser JavaScript, inlined after Chart.js). It reads the JSON
// data island and draws four charts; every chart is a <canvas> with a fixed-height wrapper.
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#db2777'];
  Chart.defaults.font.family = 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
  Chart.defaults.font.size = 12;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  function ms(us) { return us / 1000; }
  function fmtMs(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3); }
  function pctLabel(x) {
    if (x <= 1) return '0%';
    var p = (1 - 1 / x) * 100;
    return (p >= 99 ? p.toFixed(Math.max(0, Math.round(Math.log10(x)) - 2)) : p.toFixed(0)) + '%';
  }
  var charts = {};

  // 1. Percentile distribution, log x (1/(1-q)) and log y.
  (function () {
    var el = document.getElementById('chart-distribution');
    if (!el) return;
    var maxX = 10;
    var sets = data.distribution.map(function (s, i) {
      s.points.forEach(function (p) { if (p.x > maxX) maxX = p.x; });
      return {
        label: s.label,
        data: s.points.map(function (p) { return { x: p.x, y: Math.max(0.001, ms(p.valueUs)), p: p.percentile }; }),
        borderColor: s.color || palette[i % palette.length],
        backgroundColor: s.color || palette[i % palette.length],
        borderDash: s.dashed ? [6, 4] : [],
        borderWidth: 2, pointRadius: 0, stepped: false, tension: 0
      };
    });
    charts.distribution = new Chart(el, {
      type: 'line',
      data: { datasets: sets },
      options: {
        parsing: false,
        interaction: { mode: 'nearest', intersect: false },
        scales: {
          x: {
            type: 'logarithmic', min: 1, max: maxX,
            title: { display: true, text: 'percentile' },
            afterBuildTicks: function (axis) {
              var t = [1, 2, 10, 100, 1000, 10000, 100000, 1000000, 10000000].filter(function (v) { return v <= maxX; });
              axis.ticks = t.map(function (v) { return { value: v }; });
            },
            ticks: { callback: function (v) { return pctLabel(v); } }
          },
          y: {
            type: 'logarithmic', title: { display: true, text: 'latency (ms, log)' },
            ticks: { autoSkip: false, callback: function (v) {
              var m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
              return Math.abs(m - 1) < 1e-6 || Math.abs(m - 2) < 1e-6 || Math.abs(m - 5) < 1e-6 ? fmtMs(v) : null;
            } }
          }
        },
        plugins: {
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': p' + c.raw.p.toFixed(3) + ' = ' + fmtMs(c.raw.y) + ' ms'; } } },
          legend: { position: 'bottom' }
        }
      }
    });
  })();

  // 2. Throughput over time.
  (function () {
    var el = document.getElementById('chart-throughput');
    if (!el) return;
    var s = data.series;
    charts.throughput = new Chart(el, {
      type: 'line',
      data: {
        datasets: [
          { label: 'sent/s', data: s.map(function (p) { return { x: p.t, y: p.sentPerSec }; }), borderColor: palette[0], backgroundColor: palette[0], borderWidth: 2, pointRadius: 0 },
          { label: 'delivered/s', data: s.map(function (p) { return { x: p.t, y: p.deliveredPerSec }; }), borderColor: palette[2], backgroundColor: palette[2], borderWidth: 2, pointRadius: 0 },
          { label: 'acked/s', data: s.map(function (p) { return { x: p.t, y: p.ackedPerSec }; }), borderColor: palette[6], backgroundColor: palette[6], borderWidth: 1, borderDash: [4, 3], pointRadius: 0 },
          { label: 'target', data: s.length ? [{ x: s[0].t, y: data.targetRate }, { x: s[s.length - 1].t, y: data.targetRate }] : [], borderColor: '#9ca3af', borderWidth: 1, borderDash: [2, 2], pointRadius: 0 }
        ]
      },
      options: {
        parsing: false,
        scales: { x: { type: 'linear', title: { display: true, text: 'seconds into the measured window' } }, y: { beginAtZero: true, title: { display: true, text: 'messages / s' } } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  })();

  // 3. Latency over time (per-interval percentiles of merged interval histograms), with the fault
  // timeline of a fault scenario: vertical lines drawn by a small inline plugin (no annotation
  // plugin to inline). Two empty datasets give the legend entries; hiding one hides its lines.
  (function () {
    var el = document.getElementById('chart-latency-time');
    if (!el) return;
    var events = data.faults || [];
    var colors = { fault: '#b91c1c', recovery: '#15803d' };
    var dashes = { fault: [5, 3], recovery: [2, 2] };
    var datasets = data.overTime.map(function (s, i) {
      return { label: s.label, data: s.points.map(function (p) { return { x: p.t, y: ms(p.us) }; }), borderColor: s.color || palette[i % palette.length], backgroundColor: s.color || palette[i % palette.length], borderWidth: 2, pointRadius: 0, borderDash: s.dashed ? [6, 4] : [] };
    });
    var markIndex = {};
    if (events.length) {
      ['fault', 'recovery'].forEach(function (kind) {
        markIndex[kind] = datasets.length;
        datasets.push({ label: kind, data: [], borderColor: colors[kind], backgroundColor: colors[kind], borderWidth: 1.5, borderDash: dashes[kind], pointRadius: 0 });
      });
    }
    var faultLines = {
      id: 'faultLines',
      afterDatasetsDraw: function (chart) {
        if (!events.length) return;
        var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
        ctx.save();
        ctx.font = '11px system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
        events.forEach(function (e, i) {
          if (!chart.isDatasetVisible(markIndex[e.kind])) return;
          var px = x.getPixelForValue(e.t);
          if (!(px >= area.left - 0.5 && px <= area.right + 0.5)) return;
          ctx.strokeStyle = colors[e.kind];
          ctx.lineWidth = 1.5;
          ctx.setLineDash(dashes[e.kind]);
          ctx.beginPath();
          ctx.moveTo(px, area.top);
          ctx.lineTo(px, area.bottom);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = colors[e.kind];
          var w = ctx.measureText(e.label).width;
          ctx.fillText(e.label, px + 4 + w > area.right ? px - 4 - w : px + 4, area.top + 12 + (i % 4) * 13);
        });
        ctx.restore();
      }
    };
    var ts = events.map(function (e) { return e.t; });
    var xScale = { type: 'linear', title: { display: true, text: 'seconds into the measured window' } };
    if (ts.length) { xScale.suggestedMin = Math.min.apply(null, ts); xScale.suggestedMax = Math.max.apply(null, ts); }
    charts.latencyTime = new Chart(el, {
      type: 'line',
      data: { datasets: datasets },
      options: {
        parsing: false,
        scales: { x: xScale, y: { beginAtZero: true, title: { display: true, text: 'latency (ms)' } } },
        plugins: { legend: { position: 'bottom' } }
      },
      plugins: [faultLines]
    });
  })();

  // 4. Per-hop breakdown: p50 and p99 of each relay hop.
  (function () {
    var el = document.getElementById('chart-hops');
    if (!el) return;
    charts.hops = new Chart(el, {
      type: 'bar',
      data: {
        labels: data.hops.map(function (h) { return h.label; }),
        datasets: [
          { label: 'p50', data: data.hops.map(function (h) { return ms(h.p50); }), backgroundColor: palette[0] },
          { label: 'p99', data: data.hops.map(function (h) { return ms(h.p99); }), backgroundColor: palette[1] }
        ]
      },
      options: {
        indexAxis: 'y',
        scales: { x: { beginAtZero: true, title: { display: true, text: 'ms' } } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  })();

  // 5. Segments (phases / ramp steps): p99 and achieved rate per segment.
  (function () {
    var el = document.getElementById('chart-segments');
    if (!el) return;
    charts.segments = new Chart(el, {
      data: {
        labels: data.segments.map(function (s) { return s.name; }),
        datasets: [
          { type: 'bar', label: 'e2e p99 (ms)', data: data.segments.map(function (s) { return ms(s.p99); }), backgroundColor: data.segments.map(function (s) { return s.held ? palette[2] : palette[1]; }), yAxisID: 'y' },
          { type: 'line', label: 'achieved msg/s', data: data.segments.map(function (s) { return s.achieved; }), borderColor: palette[0], backgroundColor: palette[0], yAxisID: 'y2' }
        ]
      },
      options: {
        scales: { y: { beginAtZero: true, position: 'left', title: { display: true, text: 'p99 ms' } }, y2: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'msg/s' } } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  })();

  window.__relaybenchCharts = Object.keys(charts);
})();
`;
