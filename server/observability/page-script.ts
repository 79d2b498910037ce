// page-script.ts: the status page's one script, as the text served at /status.js. It defines
// render(data), which turns a /status.json document ({ status: ServerStatus, history }) into the
// HTML of each section of the page, and, in a browser, polls /status.json and re-renders. The
// server runs the very same render() (in a node:vm context, page.ts) for the first HTML it
// sends, so there is one renderer and the page reads without JavaScript too. Plain JavaScript in
// a string: no framework and no build step, and nothing here may use Node or the DOM outside
// start(). Every value that reaches the HTML passes esc().
export const PAGE_SCRIPT = String.raw`'use strict';
var COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

function esc(v) {
  return String(v).replace(/[&<>"']/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
  });
}

function fmtBytes(n) {
  var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  var i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
}

function fmtMs(ms) {
  if (ms < 1) return ms.toFixed(2) + ' ms';
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + ' ms';
  var s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  var m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.floor(s % 60) + ' s';
  var h = Math.floor(m / 60);
  if (h < 48) return h + ' h ' + (m % 60) + ' min';
  return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}

function fmtTime(unixMs) {
  return new Date(unixMs).toISOString().slice(11, 19) + 'Z';
}

function fmtRate(v) {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** A number cell: shown formatted, the exact value in data-value. */
function num(key, value, shown) {
  return '<td class="n" data-k="' + key + '" data-value="' + esc(value) + '">' + esc(shown === undefined ? value : shown) + '</td>';
}

function renderHead(s) {
  var ok = s.health.status === 'SERVING';
  var sec = s.security;
  return '<h1>gluon-ps <small>' + esc(s.version) + '</small></h1>' +
    '<p class="meta"><span class="badge ' + (ok ? 'ok' : 'bad') + '" data-k="health">' + esc(s.health.status) + '</span> ' +
    (s.health.reason ? '<span class="reason">' + esc(s.health.reason) + '</span> ' : '') +
    '<span data-k="address">' + esc(s.address) + '</span> · up <span data-k="uptime">' + esc(fmtMs(s.uptimeMs)) + '</span>' +
    ' · devices ' + esc(s.devices.join(', ')) +
    ' · TLS ' + esc(sec.tls) + ' · tokens ' + (sec.auth ? esc(sec.fullAccessTokens + ' full, ' + sec.readOnlyTokens + ' read-only') : 'off') +
    ' · updated <span data-k="time">' + esc(fmtTime(s.timeUnixMs)) + '</span>' +
    ' <span id="conn" class="conn"></span></p>';
}

function waitingText(t) {
  var o = t.openStep;
  if (o === null) return t.mode === 'async' ? 'async: no barrier' : 'no open step';
  if (o.applying) return 'step ' + o.step + ': applying';
  var ids = o.waitingFor.slice(0, 16).join(', ');
  var more = o.waitingCount > 16 ? ' and ' + (o.waitingCount - 16) + ' more' : '';
  return 'step ' + o.step + ': ' + o.stepped + ' stepped, waiting for worker' + (o.waitingCount === 1 ? ' ' : 's ') + ids + more + ' for ' + fmtMs(o.waitedMs);
}

function renderTrainers(s) {
  if (s.trainers.length === 0) return '<h2>Trainers</h2><p class="empty">No trainers yet.</p>';
  var rows = s.trainers.map(function (t) {
    var o = t.openStep;
    var late = o !== null && !o.applying && o.waitingCount > 0 && o.waitedMs > Math.min(5000, t.stepTimeoutMs / 2);
    return '<tr data-trainer="' + esc(t.name) + '"><td>' + esc(t.name) + '</td><td>' + esc(t.mode) + '</td><td>' + esc(t.optimizer) + '</td>' +
      num('step', t.step) + num('rate', t.stepsPerSecond, fmtRate(t.stepsPerSecond)) +
      num('lr', t.learningRate, Number(t.learningRate.toPrecision(4))) +
      num('workers', t.numWorkers - t.workersLeft.length, (t.numWorkers - t.workersLeft.length) + ' / ' + t.numWorkers) +
      '<td data-k="waiting" data-value="' + (o === null || o.applying ? 0 : o.waitingCount) + '" class="' + (late ? 'late' : '') + '">' + esc(waitingText(t)) + '</td></tr>';
  }).join('');
  return '<h2>Trainers</h2><table><thead><tr><th>trainer</th><th>mode</th><th>optimizer</th><th>step</th><th>steps/s</th>' +
    '<th>lr</th><th>workers</th><th>open step</th></tr></thead><tbody>' + rows + '</tbody></table>';
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  var p = Math.pow(10, Math.floor(Math.log10(v)));
  var m = [1, 2, 2.5, 5, 10].find(function (x) { return x * p >= v; });
  return m * p;
}

/** An SVG line chart of series [{ name, values: [[t, v]...] }] between t0 and t1. */
function chart(key, title, series, t0, t1, fmt) {
  var W = 560, H = 170, L = 84, R = 10, T = 10, B = 24;
  var max = 0;
  series.forEach(function (s) { s.values.forEach(function (p) { if (p[1] > max) max = p[1]; }); });
  max = niceMax(max);
  var x = function (t) { return L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R); };
  var y = function (v) { return T + (1 - v / max) * (H - T - B); };
  var grid = [0, 0.5, 1].map(function (f) {
    return '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y(max * f) + '" y2="' + y(max * f) + '" class="grid"/>' +
      '<text x="' + (L - 6) + '" y="' + (y(max * f) + 4) + '" class="ax" text-anchor="end">' + esc(fmt(max * f)) + '</text>';
  }).join('');
  var lines = series.map(function (s, i) {
    var pts = s.values.map(function (p) { return x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1); }).join(' ');
    return '<polyline fill="none" stroke="' + COLORS[i % COLORS.length] + '" stroke-width="1.8" points="' + pts + '"><title>' + esc(s.name) + '</title></polyline>';
  }).join('');
  var minutes = Math.round((t1 - t0) / 60000);
  var axis = '<text x="' + L + '" y="' + (H - 6) + '" class="ax">' + (minutes > 0 ? '−' + minutes + ' min' : esc(fmtTime(t0))) + '</text>' +
    '<text x="' + (W - R) + '" y="' + (H - 6) + '" class="ax" text-anchor="end">now</text>';
  var legend = series.map(function (s, i) {
    var last = s.values.length ? fmt(s.values[s.values.length - 1][1]) : '–';
    return '<span class="key"><i style="background:' + COLORS[i % COLORS.length] + '"></i>' + esc(s.name) + ' <b>' + esc(last) + '</b></span>';
  }).join(' ');
  return '<figure data-chart="' + key + '"><figcaption>' + esc(title) + '</figcaption>' +
    '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="' + esc(title) + '">' + grid + lines + axis + '</svg>' +
    '<div class="legend">' + (series.length ? legend : 'no data yet') + '</div></figure>';
}

function renderCharts(d) {
  var pts = d.history.points;
  if (pts.length === 0)
    return '<h2>Last minutes</h2><p class="empty">Collecting: a point every ' + esc(d.history.intervalMs / 1000) + ' s.</p>';
  var t1 = pts[pts.length - 1].t, t0 = Math.min(pts[0].t, t1 - 60000);
  var rate = function (v) { return fmtBytes(v) + '/s'; };
  var throughput = [
    { name: 'pushed', values: pts.map(function (p) { return [p.t, p.pushedBytesPerSecond]; }) },
    { name: 'pulled', values: pts.map(function (p) { return [p.t, p.pulledBytesPerSecond]; }) },
  ];
  var names = [];
  pts.forEach(function (p) { Object.keys(p.trainers).forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); }); });
  names.sort();
  var of = function (field) {
    return names.map(function (n) {
      return { name: n, values: pts.filter(function (p) { return p.trainers[n]; }).map(function (p) { return [p.t, p.trainers[n][field]]; }) };
    });
  };
  var calls = [{ name: 'calls', values: pts.map(function (p) { return [p.t, p.callsPerSecond]; }) }];
  return '<h2>Last minutes</h2><div class="charts">' +
    chart('throughput', 'Tensor throughput', throughput, t0, t1, rate) +
    chart('latency', 'Step latency (mean per interval)', of('stepMs'), t0, t1, fmtMs) +
    chart('steps', 'Steps per second', of('stepsPerSecond'), t0, t1, fmtRate) +
    chart('calls', 'Calls per second', calls, t0, t1, fmtRate) + '</div>';
}

var KINDS = [['parameters', 'parameters'], ['gradients', 'gradients'], ['optimizerStates', 'optimizer states'],
  ['stagedGradients', 'staged gradients'], ['constants', 'constants'], ['other', 'other']];

function memoryRow(name, allocated, byKind) {
  return '<tr data-device="' + esc(name) + '"><td>' + esc(name) + '</td>' + num('allocated', allocated, fmtBytes(allocated)) +
    KINDS.map(function (k) { return num(k[0], byKind[k[0]], fmtBytes(byKind[k[0]])); }).join('') + '</tr>';
}

// The one memory budget: what is held for callers against it, with a bar.
function budgetLine(m) {
  var held = '<span data-k="held" data-value="' + m.heldBytes + '">' + esc(fmtBytes(m.heldBytes)) + '</span>';
  if (m.budgetBytes === null) return 'held for callers: ' + held + ', <span data-k="budget" data-value="">no memory budget</span>';
  var pct = Math.min(100, (m.heldBytes / Math.max(1, m.budgetBytes)) * 100);
  return 'held for callers: ' + held + ' of the <span data-k="budget" data-value="' + m.budgetBytes + '">' +
    esc(fmtBytes(m.budgetBytes)) + '</span> memory budget <span class="bar' + (pct > 90 ? ' full' : '') + '"><span style="width:' +
    pct.toFixed(1) + '%"></span></span> ' + pct.toFixed(0) + '%';
}

function renderMemory(s) {
  var m = s.memory;
  var p = s.parameters;
  var rows = m.devices.map(function (d) { return memoryRow(d.device, d.allocatedBytes, d.byKind); }).join('');
  var total = m.devices.length > 1 ? memoryRow('all devices', m.allocatedBytes, m.byKind) : '';
  return '<h2>Memory</h2><p><span data-k="parameters" data-value="' + p.parameters + '">' + p.parameters + ' parameters</span>, ' +
    '<span data-k="constants" data-value="' + p.constants + '">' + p.constants + ' constants</span> (' + p.initialized + ' initialized, ' +
    p.deferred + ' deferred), values ' + esc(fmtBytes(p.bytes)) + '; reads being sent: <span data-k="readStaging" data-value="' +
    m.readStagingBytes + '">' + esc(fmtBytes(m.readStagingBytes)) + '</span>, host memory <span data-k="hostHeap" data-value="' +
    m.hostHeapBytes + '">' + esc(fmtBytes(m.hostHeapBytes)) + '</span></p><p>' + budgetLine(m) + '</p>' +
    '<table><thead><tr><th>device</th><th>allocated</th>' +
    KINDS.map(function (k) { return '<th>' + k[1] + '</th>'; }).join('') + '</tr></thead><tbody>' + rows + total + '</tbody></table>';
}

function renderDurability(s) {
  var d = s.durability;
  if (d === null) return '<h2>Durability</h2><p data-k="mode">in memory only (--data-dir none): a restart loses everything</p>';
  var now = s.timeUnixMs;
  var c = d.lastCheckpoint;
  var ckpt = c === null ? 'none yet' : '<span data-k="checkpoint" data-value="' + c.id + '">#' + c.id + '</span> ' + esc(fmtMs(Math.max(0, now - c.timeUnixMs))) +
    ' ago (' + esc(c.reason) + '), ' + esc(fmtBytes(c.bytes)) + (c.durationMs > 0 ? ', written in ' + esc(fmtMs(c.durationMs)) : '');
  var wal = d.wal === null ? 'none (checkpoint mode)' : '<span data-k="walBytes" data-value="' + d.wal.bytes + '">' + esc(fmtBytes(d.wal.bytes)) + '</span> in ' +
    d.wal.segments + ' segment' + (d.wal.segments === 1 ? '' : 's') + ' on disk, ' + esc(fmtBytes(d.wal.appendedBytes)) + ' appended since start, last lsn ' + d.wal.lastLsn;
  return '<h2>Durability</h2><table class="kv"><tbody>' +
    '<tr><th>mode</th><td data-k="mode">' + esc(d.mode) + '</td></tr>' +
    '<tr><th>data dir</th><td>' + esc(d.dataDir) + '</td></tr>' +
    '<tr><th>last checkpoint</th><td>' + ckpt + '</td></tr>' +
    '<tr><th>write-ahead log</th><td>' + wal + '</td></tr>' +
    '<tr><th>changes since checkpoint</th><td data-k="changes" data-value="' + d.changesSinceCheckpoint + '">' + d.changesSinceCheckpoint + '</td></tr>' +
    (d.lastError ? '<tr><th>last error</th><td class="bad">' + esc(fmtTime(d.lastError.timeUnixMs) + ' ' + d.lastError.message) + '</td></tr>' : '') +
    '</tbody></table>';
}

function renderWarnings(s) {
  var w = s.warnings.slice().reverse();
  var head = '<h2>Recent warnings <small data-k="warningsTotal" data-value="' + s.warningsTotal + '">' + s.warningsTotal + ' since start</small></h2>';
  if (w.length === 0) return head + '<p class="empty">None.</p>';
  return head + '<ul class="log">' + w.map(function (e) {
    var fields = Object.keys(e.fields).map(function (k) { return esc(k) + '=' + esc(e.fields[k]); }).join(' ');
    return '<li class="' + esc(e.level) + '"><time>' + esc(fmtTime(e.timeUnixMs)) + '</time> <b>' + esc(e.level) + '</b> ' + esc(e.message) +
      (fields ? ' <code>' + fields + '</code>' : '') + '</li>';
  }).join('') + '</ul>';
}

/** The HTML of each section (by element id) for one /status.json document. */
function render(d) {
  var s = d.status;
  return {
    head: renderHead(s),
    trainers: renderTrainers(s),
    charts: renderCharts(d),
    memory: renderMemory(s),
    durability: renderDurability(s),
    warnings: renderWarnings(s),
  };
}

function start() {
  var interval = Number(document.body.getAttribute('data-interval')) || 2000;
  function apply(d) {
    var parts = render(d);
    Object.keys(parts).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.innerHTML = parts[id];
    });
    window.gluonpsStatus = d;
    document.body.setAttribute('data-updated', String(d.status.timeUnixMs));
  }
  function connection(ok, why) {
    var el = document.getElementById('conn');
    if (el) el.textContent = ok ? '' : 'disconnected: ' + why + ' (retrying)';
    document.body.classList.toggle('stale', !ok);
  }
  function tick() {
    fetch('status.json', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (d) { apply(d); connection(true); }, function (e) { connection(false, e.message); })
      .then(function () { setTimeout(tick, interval); });
  }
  setTimeout(tick, interval);
}

if (typeof document !== 'undefined') start();
`;
