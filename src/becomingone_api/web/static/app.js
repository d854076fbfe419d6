// BecomingONE dashboard: REST for the snapshot, /api/v1/stream for live frames. No CDN.
'use strict';
(function () {
  const API = '/api/v1';
  const WINDOW_S = 60;
  const $ = (id) => document.getElementById(id);
  let token = new URLSearchParams(location.hash.slice(1)).get('token') ||
    sessionStorage.getItem('becomingone-token') || '';
  if (token) { sessionStorage.setItem('becomingone-token', token); }
  let cell = null;
  let socket = null;
  let chart = null;
  let lastCollapsed = null;
  const data = [[], [], [], [], []];  // t, coherence, |T_m|, |T_e|, I_c
  const marks = [];                    // {t, kind}
  window.becomingone = { marks, data, frames: 0 };

  function headers(extra) {
    return Object.assign({ Authorization: 'Bearer ' + token }, extra || {});
  }
  async function api(path, options) {
    const response = await fetch(API + path, Object.assign({ headers: headers() }, options || {}));
    const body = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) { const e = new Error(body.error || response.statusText); e.status = response.status; throw e; }
    return body;
  }
  function showError(text) { $('error').textContent = text || ''; }

  function makeChart() {
    if (typeof uPlot === 'undefined') {
      showError('uPlot is not installed (run make, or npm ci in src/becomingone_api/web)');
      return null;
    }
    const markPlugin = {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          for (const m of marks) {
            const x = u.valToPos(m.t, 'x', true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) { continue; }
            ctx.strokeStyle = m.kind === 'collapse' ? '#e0b030' : '#6ab0ff';
            ctx.lineWidth = 2;
            ctx.setLineDash([4, 3]);
            ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
    return new uPlot({
      width: Math.max(600, $('timeline').clientWidth - 20), height: 300,
      scales: { y: { range: [0, 1.05] } },
      series: [{}, { label: '|T_sync|²', stroke: '#e0b030', width: 2 },
        { label: '|T_m|', stroke: '#4a90e2' }, { label: '|T_e|', stroke: '#3bbf6a' },
        { label: 'I_c', stroke: '#b04040', dash: [6, 4] }],
      axes: [{ stroke: '#9aa7b5' }, { stroke: '#9aa7b5' }],
      plugins: [markPlugin],
    }, data, $('chart'));
  }

  function addMark(t, kind, source) {
    if (marks.some((m) => m.kind === kind && Math.abs(m.t - t) < 1.0)) { return; }
    marks.push({ t, kind });
    const li = document.createElement('li');
    li.className = 'mark ' + kind;
    li.textContent = new Date(t * 1000).toLocaleTimeString() + ' ' + kind.toUpperCase() + ' (' + source + ')';
    $('marks').prepend(li);
  }

  function drawPlane(state) {
    const canvas = $('plane');
    const ctx = canvas.getContext('2d');
    const r = canvas.width / 2 - 10;
    const c = canvas.width / 2;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#556'; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.arc(c, c, r, 0, 2 * Math.PI); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(c - r, c); ctx.lineTo(c + r, c); ctx.moveTo(c, c - r); ctx.lineTo(c, c + r); ctx.stroke();
    ctx.setLineDash([4, 4]); ctx.strokeStyle = '#888';
    ctx.beginPath(); ctx.arc(c, c, r * Math.sqrt(state.threshold), 0, 2 * Math.PI); ctx.stroke();
    ctx.setLineDash([]);
    const arrow = (z, color, width) => {
      ctx.strokeStyle = color; ctx.lineWidth = width;
      ctx.beginPath(); ctx.moveTo(c, c); ctx.lineTo(c + z.re * r, c - z.im * r); ctx.stroke();
      ctx.fillStyle = color; ctx.beginPath(); ctx.arc(c + z.re * r, c - z.im * r, 4, 0, 2 * Math.PI); ctx.fill();
    };
    arrow(state.T_m, '#4a90e2', 2); arrow(state.T_e, '#3bbf6a', 2);
    arrow(state.T_sync, state.collapsed ? '#e0b030' : '#aaa', 3);
  }

  function onState(state) {
    window.becomingone.frames += 1;
    $('coherence').textContent = state.coherence.toFixed(3);
    $('threshold').textContent = state.threshold.toFixed(2);
    $('tm').textContent = state.T_m.abs.toFixed(3);
    $('te').textContent = state.T_e.abs.toFixed(3);
    $('delta').textContent = state.delta_phase.toFixed(3);
    $('gate').textContent = state.collapsed ? 'OPEN (collapsed)' : 'closed';
    $('gate').className = 'badge ' + (state.collapsed ? 'open' : 'closed');
    if (lastCollapsed !== null && state.collapsed !== lastCollapsed) {
      addMark(state.stamp, state.collapsed ? 'collapse' : 'release', 'state');
    }
    lastCollapsed = state.collapsed;
    data[0].push(state.stamp); data[1].push(state.coherence); data[2].push(state.T_m.abs);
    data[3].push(state.T_e.abs); data[4].push(state.threshold);
    while (data[0].length && data[0][0] < state.stamp - WINDOW_S) { data.forEach((s) => s.shift()); }
    if (chart) { chart.setData(data); }
    drawPlane(state);
  }

  function onWitness(record) {
    if (record.subject === 'sync' && (record.event === 'collapse' || record.event === 'release')) {
      addMark(record.stamp, record.event, 'witness');
      if (chart) { chart.redraw(); }
    }
  }

  function onMesh(mesh) {
    if (mesh.cell !== cell) { return; }
    $('mesh-global').textContent = 'T_global = ' + mesh.T_global.re.toFixed(3) + ' + ' +
      mesh.T_global.im.toFixed(3) + 'i, global coherence ' + mesh.global_coherence.toFixed(3) +
      ', ' + mesh.peers_alive + ' alive, ' + mesh.peers_dead + ' dead' + (mesh.emerged ? ', EMERGED' : '');
    const body = $('peers').querySelector('tbody');
    body.textContent = '';
    for (const p of mesh.peers) {
      const row = document.createElement('tr');
      for (const v of [p.node_id, p.role, p.weight.toFixed(2), p.coherence.toFixed(3), p.collapsed ? 'yes' : 'no', p.alive ? 'yes' : 'no']) {
        const td = document.createElement('td'); td.textContent = v; row.append(td);
      }
      body.append(row);
    }
  }

  function onEstop(view) {
    $('estop-state').textContent = view.engaged ? 'ENGAGED by ' + view.engaged_by : (view.known ? 'released' : 'not engaged');
    $('estop-state').className = 'badge ' + (view.engaged ? 'engaged' : 'ok');
  }

  async function refreshWitness() {
    if (!cell) { return; }
    try {
      const w = await api('/cells/' + cell + '/witness');
      $('witness-level').textContent = w.health.level;
      $('witness-level').className = 'badge ' + w.health.level;
      $('witness').textContent = JSON.stringify({ records: w.health.records, missing: w.health.missing_streams, meta: w.health.meta }, null, 1);
      for (const e of w.events) { onWitness(e); }
    } catch (e) { showError('witness: ' + e.message); }
  }

  function connect() {
    if (socket) { socket.close(); }
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    socket = new WebSocket(scheme + location.host + API + '/stream', ['becomingone.v1', 'bearer.' + token]);
    socket.onopen = () => {
      $('connection').textContent = 'live'; $('connection').className = 'badge ok';
      socket.send(JSON.stringify({ subscribe: [cell], rate_hz: Number($('rate').value) }));
    };
    socket.onclose = () => {
      $('connection').textContent = 'disconnected'; $('connection').className = 'badge silent';
      setTimeout(() => { if (socket && socket.readyState === WebSocket.CLOSED) { connect(); } }, 2000);
    };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === 'state' && frame.cell === cell) { onState(frame); }
      else if (frame.type === 'witness' && frame.cell === cell) { onWitness(frame); }
      else if (frame.type === 'mesh') { onMesh(frame); }
      else if (frame.type === 'estop') { onEstop(frame); }
      else if (frame.type === 'error') { showError(frame.error); }
    };
  }

  async function engage() {
    $('estop-message').textContent = 'sending…';
    try {
      const view = await api('/estop', { method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify({ engage: true, source: 'dashboard' }) });
      onEstop(view);
      $('estop-message').textContent = view.engaged ? 'e-stop engaged' : 'sent; not yet seen engaged';
    } catch (e) {
      $('estop-message').textContent = 'refused (' + (e.status || '?') + '): ' + e.message;
      $('estop-message').className = 'error';
    }
  }

  async function start() {
    if (!token) { $('token-box').hidden = false; showError('no token: paste one, or open the URL the gateway logged'); return; }
    try {
      const list = await api('/cells');
      const select = $('cell');
      select.textContent = '';
      for (const c of list.cells) { const o = document.createElement('option'); o.textContent = c.cell; select.append(o); }
      cell = list.cells.length ? list.cells[0].cell : null;
      onEstop(await api('/estop'));
    } catch (e) {
      showError('cannot list cells: ' + e.message);
      if (e.status === 401) { $('token-box').hidden = false; }
      return;
    }
    chart = makeChart();
    connect();
    refreshWitness();
    setInterval(refreshWitness, 2000);
  }

  $('token-set').onclick = () => { token = $('token').value.trim(); sessionStorage.setItem('becomingone-token', token); $('token-box').hidden = true; showError(''); start(); };
  $('engage').onclick = engage;
  $('cell').onchange = () => { cell = $('cell').value; data.forEach((s) => s.splice(0)); lastCollapsed = null; connect(); };
  $('rate').onchange = () => { if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify({ subscribe: [cell], rate_hz: Number($('rate').value) })); } };
  start();
}());
