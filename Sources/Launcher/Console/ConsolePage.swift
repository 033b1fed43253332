import S3

/// The console's two pages, whole: HTML, CSS and script in one document served by `devcluster ui`
/// (nothing fetched from anywhere else). The main page asks `/api/poll` once a second for the status
/// and the new events, draws each node's lane (every other node's view of it over the last two
/// minutes, the launcher's actions as marks) and each node's load over the last three (requests/s,
/// MB/s in and out, p99 latency, heal rate, disk used), and runs the controls through `/api/action`
/// with the session's CSRF token.
enum ConsolePage {
    static func login(error: String?) -> String {
        let message = error.map { "<p class=\"error\" id=\"login-error\">\(escape($0))</p>" } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>devcluster console: log in</title>
            <link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">
            <style>\(style)
            form.login { max-width: 22rem; margin: 4rem auto; display: grid; gap: .6rem; }
            </style></head><body>
            <form method="post" action="/login" id="login" class="login">
            <h1>devcluster console</h1>
            <p class="dim">Log in with the cluster's access key and secret key (<code>devcluster env</code> shows them).</p>
            \(message)
            <label>Access key <input name="accessKey" id="accessKey" autocomplete="username" required></label>
            <label>Secret key <input name="secretKey" id="secretKey" type="password" autocomplete="current-password" required></label>
            <button type="submit" id="login-button" class="go">Log in</button>
            </form></body></html>
            """
    }

    /// The console's page. `controls`: false for a deployment devcluster did not start (no process
    /// controls, no scenarios: its nodes are controlled on their hosts).
    static func main(cluster: String, csrf: String, controls: Bool) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>devcluster console: \(escape(cluster))</title>
        <link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">
        <style>\(style)</style></head><body data-csrf="\(escape(csrf))"
        data-multipart-above="\(ConsoleServer.multipartAbove)" data-controls="\(controls ? "on" : "off")">
        <header><h1>devcluster console <span class="dim">cluster <b>\(escape(cluster))</b></span></h1>
        <span id="verdict" class="pill">loading</span>
        <form method="post" action="/logout"><button class="link" id="logout">log out</button></form></header>
        <main>
        <section class="wide"><h2>Nodes</h2>
        <table id="nodes"><thead><tr><th>node</th><th>process</th><th>seen as</th><th>pid</th><th>endpoint</th>
        <th>data</th><th class="control">controls</th></tr></thead><tbody></tbody></table></section>
        <section class="wide control"><h2>Guided scenarios <span class="dim">the tutorials of make demo-*, played on this
        cluster a step at a time: each step runs the devcluster command or the check it names, and the pictures
        below show what it does</span></h2>
        <div class="controls"><select id="scenario-name"></select> <button id="scenario-open">open</button>
        <button id="scenario-step" disabled>next step</button> <button id="scenario-play" disabled>play to the end</button>
        <button id="scenario-pause" disabled>pause</button> <button id="scenario-close" disabled>close</button>
        <span id="scenario-state" class="dim"></span></div>
        <div id="scenario"></div></section>
        <section class="wide"><h2>Detection <span class="dim">each lane: how every other node sees that node,
        up to two minutes back; marks: what you did</span></h2>
        <div id="legend"><span class="sw online"></span>online <span class="sw suspect"></span>suspect
        <span class="sw offline"></span>offline <span class="sw unknown"></span>observer not running</div>
        <svg id="lanes" width="100%" height="10"></svg>
        <table id="views" class="compact"></table></section>
        <section class="wide"><h2>Load <span class="dim">per node, the last three minutes, from each node's
        metrics once a second</span></h2><div id="legend-nodes"></div><div id="charts"></div></section>
        <section class="wide"><h2>Objects</h2>
        <div class="controls"><select id="bucket"></select>
        <input id="new-bucket" size="14" placeholder="new-bucket"> <button id="make-bucket">make bucket</button>
        <span id="bucket-tools"></span>
        <label class="dim"><input type="checkbox" id="show-deleted"> show deleted</label>
        &nbsp; in <span id="path" class="dim">/</span>
        &nbsp; <label id="drop" class="drop">drop files here, or <input type="file" id="file" multiple></label>
        <progress id="progress" max="1" value="0" hidden></progress> <span id="upload-state" class="dim"></span></div>
        <table id="objects" class="compact"></table>
        <p id="share" class="dim"></p>
        <table id="versions" class="compact"></table>
        <div id="layout"></div></section>
        <section class="control"><h2>Cluster</h2><div class="controls">
        <p><input id="groupA" size="12" placeholder="node1,node2"> / <input id="groupB" size="12" placeholder="node3,node4">
        <button data-cluster="partition">partition</button></p>
        <p><button data-cluster="heal-partition">heal partition (clear faults)</button>
        <button data-cluster="heal">heal now</button> <button data-cluster="verify">verify</button></p>
        <p><input id="corrupt-node" size="6" placeholder="node1"> <input id="corrupt-object" size="20" placeholder="bucket/key">
        <button data-cluster="corrupt">corrupt a shard</button></p></div></section>
        <section><h2>Results</h2><ol id="results" class="dim"><li>what the controls did shows here</li></ol></section>
        <section class="wide"><h2>Timeline <span class="dim">every node's events and the launcher's, newest first</span></h2>
        <ol id="events"></ol></section>
        </main>
        <script>\(script)</script></body></html>
        """
    }

    /// HTML text and attribute values escape as XML's do.
    static func escape(_ text: String) -> String { XMLWriter.escape(text) }

    static let style = """
        body { font: 14px/1.4 system-ui, sans-serif; background: #0d1117; color: #e6edf3; margin: 0; }
        header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #161b22;
          border-bottom: 1px solid #30363d; }
        header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
        main { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; padding: 1rem; }
        section { background: #161b22; border: 1px solid #30363d; border-radius: 6px; padding: .6rem .8rem; }
        section.wide { grid-column: 1 / -1; }
        h2 { font-size: .95rem; margin: 0 0 .5rem; }
        .dim { color: #8b949e; font-weight: normal; }
        table { border-collapse: collapse; width: 100%; }
        td, th { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #21262d; white-space: nowrap; }
        table.compact td, table.compact th { padding: .1rem .4rem; font-size: 12px; }
        .pill { padding: .1rem .6rem; border-radius: 1rem; background: #30363d; }
        .healthy, .online, .running { color: #3fb950; } .degraded, .suspect, .paused { color: #d29922; }
        .unavailable, .offline, .stopped { color: #f85149; } .unknown { color: #8b949e; }
        .pill.healthy { background: #1f6f3b; color: white; } .pill.degraded { background: #7d5a10; color: white; }
        .pill.unavailable { background: #8e1519; color: white; }
        button { font: inherit; font-size: 12px; padding: .15rem .45rem; margin: 1px; background: #21262d;
          color: #e6edf3; border: 1px solid #30363d; border-radius: 4px; cursor: pointer; }
        button:hover { border-color: #8b949e; } button.go { background: #238636; border: 0; padding: .5rem; }
        button.link { background: none; border: 0; color: #58a6ff; }
        input { font: inherit; padding: .2rem; background: #0d1117; color: #e6edf3; border: 1px solid #30363d; }
        .error { color: #f85149; } ol { margin: 0; padding-left: 1.2rem; max-height: 22rem; overflow: auto; }
        #events li, #results li { font: 12px/1.5 ui-monospace, monospace; white-space: pre-wrap; }
        .sw { display: inline-block; width: .8rem; height: .8rem; margin: 0 .2rem 0 .8rem; vertical-align: middle; }
        .sw.online { background: #238636; } .sw.suspect { background: #bb8009; } .sw.offline { background: #da3633; }
        .sw.unknown { background: #484f58; }
        #legend, #legend-nodes { font-size: 12px; margin-bottom: .3rem; }
        .drop { border: 1px dashed #30363d; padding: .2rem .5rem; } .drop.over { border-color: #58a6ff; }
        #layout { margin-top: .5rem; } table.blocks { width: auto; border-collapse: separate; border-spacing: 3px; }
        .shard { border-top: 3px solid #30363d; padding: .3rem .6rem; min-width: 8rem; font-size: 12px; font-weight: normal; }
        .shard.ok { border-color: #238636; } .shard.corrupt, .shard.missing, .shard.stale { border-color: #da3633; }
        .shard.unreachable { border-color: #484f58; color: #8b949e; }
        td.cell { height: .8rem; padding: 0; border: 0; border-radius: 2px; background: #484f58; }
        td.cell.ok { background: #238636; } td.cell.corrupt { background: #da3633; }
        td.cell.missing, td.cell.stale { background: repeating-linear-gradient(45deg, #da3633 0 3px, #161b22 3px 6px); }
        #charts { display: grid; grid-template-columns: repeat(3, 1fr); gap: .6rem; }
        #charts figure { margin: 0; } #charts figcaption { font-size: 12px; color: #8b949e; }
        svg text { fill: #8b949e; font: 11px system-ui, sans-serif; }
        #scenario { max-height: 26rem; overflow: auto; }
        body[data-controls=off] .control { display: none; }
        #scenario .narration { margin: .6rem 0 .2rem; }
        .step { font-size: 12px; padding: .1rem 0 .1rem .6rem; border-left: 3px solid #30363d; }
        .step code { font: 12px ui-monospace, monospace; } .step.ok { border-color: #238636; }
        .step.running { border-color: #bb8009; } .step.failed { border-color: #da3633; }
        .step pre { font: 11px/1.4 ui-monospace, monospace; white-space: pre-wrap; margin: .2rem 0; color: #8b949e; }
        """

    static let script = """
        'use strict';
        const csrf = document.body.dataset.csrf;
        const multipartAbove = Number(document.body.dataset.multipartAbove);
        const WINDOW = 120000;
        const colors = {online: '#238636', suspect: '#bb8009', offline: '#da3633', unknown: '#484f58'};
        let next = 0, state = null, stateAt = 0, polling = false;
        const events = [];
        const lanes = {};   // "observer>node" -> [{state, from}]
        const marks = [];   // {t, action, target}
        const el = (tag, attrs, text) => {
          const e = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
          if (text !== undefined) e.textContent = text;
          return e;
        };
        const svg = (tag, attrs, text) => {
          const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
          for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
          if (text !== undefined) e.textContent = text;
          return e;
        };
        function lane(observer, node) { return lanes[observer + '>' + node] || (lanes[observer + '>' + node] = []); }
        function push(observer, node, st, t) {
          const l = lane(observer, node);
          if (!l.length || l[l.length - 1].state !== st) l.push({state: st, from: t});
        }
        function current(observer, node) { const l = lanes[observer + '>' + node]; return l && l.length ? l[l.length - 1].state : 'unknown'; }
        const EVENTS_KEPT = 5000, MARKS_KEPT = 1000;
        function apply(e) {
          events.push(e);
          if (events.length > EVENTS_KEPT) events.splice(0, events.length - EVENTS_KEPT);
          if (marks.length > MARKS_KEPT) marks.splice(0, marks.length - MARKS_KEPT);
          const t = Date.parse(e.time);
          const kind = e.event;
          if ((kind === 'node_suspect' || kind === 'node_offline' || kind === 'node_online') && e.peer) {
            push(e.node, e.peer, kind.slice(5), t);
          } else if (kind.startsWith('launcher_')) {
            marks.push({t, action: kind.slice(9), target: e.target || ''});
          }
        }
        function describe(e) {
          const skip = new Set(['time', 'node', 'event', 'seq']);
          return Object.entries(e).filter(([k]) => !skip.has(k)).map(([k, v]) => k + '=' + (typeof v === 'object' ? JSON.stringify(v) : v)).join(' ');
        }
        function targets(target, ids) {
          if (target === 'all') return ids;
          const out = [];
          for (const part of target.split(',')) {
            const m = part.match(/^node(\\d+)-(\\d+)$/);
            if (m) { for (let i = +m[1]; i <= +m[2]; i++) out.push('node' + i); } else out.push(part);
          }
          return out;
        }
        function render() {
          if (!state) return;
          const now = Date.now();
          const ids = state.nodes.map(n => n.id);
          const running = Object.fromEntries(state.nodes.map(n => [n.id, n.process === 'running']));
          // A view only counts while its node runs; a lane with no event yet starts from the first probe.
          // A probe older than a lane's last change (it began before an event came in) does not overrule it.
          for (const o of state.nodes) {
            for (const id of ids) {
              if (id === o.id) continue;
              const l = lane(o.id, id);
              if (l.length && l[l.length - 1].from > stateAt) continue;
              if (!running[o.id]) { push(o.id, id, 'unknown', stateAt); continue; }
              if (!o.view) continue;  // running but not answering this probe: its events still tell
              if (!l.length || l[l.length - 1].state === 'unknown') push(o.id, id, o.view[id] || 'unknown', stateAt);
            }
          }
          const verdict = document.getElementById('verdict');
          verdict.textContent = state.verdict; verdict.className = 'pill ' + state.verdict;
          // Rows are made once and then updated in place: a button must not be replaced under the pointer.
          const body = document.querySelector('#nodes tbody');
          if ([...body.rows].map(r => r.dataset.node).join() !== ids.join()) {
            body.replaceChildren(...state.nodes.map(n => {
              const tr = el('tr', {'data-node': n.id});
              for (let i = 0; i < 6; i++) tr.append(el('td'));
              const td = el('td', {class: 'control'});
              for (const a of ['kill', 'stop', 'start', 'restart', 'pause', 'resume', 'isolate', 'slow', 'disk-full', 'disk-full-undo', 'wipe']) {
                td.append(el('button', {'data-action': a, 'data-node': n.id}, a === 'disk-full-undo' ? 'disk ok' : a));
              }
              tr.append(td);
              return tr;
            }));
          }
          state.nodes.forEach((n, i) => {
            const cells = body.rows[i].cells;
            const set = (c, text, cls) => { if (c.textContent !== text) c.textContent = text; c.className = cls || ''; };
            set(cells[0], n.id);
            set(cells[1], n.process, n.process);
            set(cells[2], n.seenAs, n.seenAs.split(' ')[0]);
            cells[2].dataset.seenAs = n.seenAs;
            set(cells[3], n.pid == null ? '-' : String(n.pid));
            set(cells[4], n.endpoint);
            set(cells[5], n.data || '-');
          });
          // The lanes: one group per node, one row per other node's view of it.
          const lanesSVG = document.getElementById('lanes');
          const width = lanesSVG.clientWidth || 900, left = 120, row = 12, gap = 12;
          // The window starts at the oldest thing there is to draw (at most two minutes back, at least 20 s).
          let earliest = now;
          for (const l of Object.values(lanes)) if (l.length) earliest = Math.min(earliest, l[0].from);
          for (const m of marks) earliest = Math.min(earliest, m.t);
          const shown = Math.min(WINDOW, Math.max(20000, now - earliest + 2000));
          const x = t => left + (width - left - 40) * Math.max(0, (t - (now - shown))) / shown;
          const parts = [];
          let y = 4;
          for (const node of ids) {
            const top = y;
            parts.push(svg('text', {x: 4, y: y + 11, 'font-weight': 'bold', fill: '#e6edf3'}, node));
            for (const o of ids) {
              if (o === node) continue;
              parts.push(svg('text', {x: 56, y: y + row - 2, 'font-size': 10}, 'seen by ' + o));
              const l = lane(o, node);
              l.forEach((span, i) => {
                const end = i + 1 < l.length ? l[i + 1].from : now;
                if (end < now - shown) return;
                parts.push(svg('rect', {x: x(span.from), y, width: Math.max(1, x(end) - x(span.from)), height: row - 2,
                  fill: colors[span.state] || colors.unknown, 'data-observer': o, 'data-node': node, 'data-state': span.state}));
              });
              y += row;
            }
            for (const m of marks) {
              if (m.t < now - shown || !targets(m.target, ids).includes(node)) continue;
              parts.push(svg('line', {x1: x(m.t), x2: x(m.t), y1: top, y2: y, stroke: '#e6edf3', 'stroke-width': 1.5}));
              parts.push(svg('text', {x: x(m.t) + 3, y: top + 8, fill: '#e6edf3', class: 'mark'}, m.action));
            }
            y += gap;
          }
          const step = shown / 4;
          for (let i = 0; i <= 4; i++) {
            const ago = Math.round(i * step / 1000);
            parts.push(svg('text', {x: x(now - i * step) - 12, y: y}, ago ? '-' + ago + 's' : 'now'));
          }
          lanesSVG.setAttribute('height', y + 6);
          lanesSVG.replaceChildren(...parts);
          // The same, now, as a table: row observer, column the node it sees.
          const views = document.getElementById('views');
          const head = el('tr'); head.append(el('th', {}, 'view of'), ...ids.map(i => el('th', {}, i)));
          views.replaceChildren(head, ...ids.map(o => {
            const tr = el('tr'); tr.append(el('th', {}, o));
            for (const id of ids) {
              const st = o === id ? 'self' : current(o, id);
              tr.append(el('td', {class: st, 'data-observer': o, 'data-node': id, 'data-state': st}, st));
            }
            return tr;
          }));
          const list = document.getElementById('events');
          list.replaceChildren(...events.slice(-200).reverse().map(e => {
            const li = el('li', {'data-event': e.event}, new Date(e.time).toLocaleTimeString() + '  ' + e.node.padEnd(10) + ' ' + e.event.padEnd(18) + ' ' + describe(e));
            if (e.event.startsWith('launcher_')) li.style.color = '#d2a8ff';
            return li;
          }));
        }
        const palette = ['#58a6ff', '#3fb950', '#d29922', '#f778ba', '#a371f7', '#79c0ff', '#ffa657', '#56d4dd'];
        const chartDefs = [[1, 'requests/s'], [2, 'MB/s in'], [3, 'MB/s out'], [4, 'p99 latency (ms)'],
          [5, 'objects healed/s'], [6, 'file system used (GB)']];
        function renderCharts(charts) {
          const nodes = Object.keys(charts).sort();
          document.getElementById('legend-nodes').replaceChildren(...nodes.map((n, i) =>
            el('span', {style: 'color:' + palette[i % palette.length] + ';margin-right:1rem'}, '■ ' + n)));
          // The same window rule as the lanes: from the oldest point, at least 20 s, at most 3 minutes.
          let oldest = Date.now();
          for (const n of nodes) if (charts[n].length) oldest = Math.min(oldest, charts[n][0][0]);
          const now = Date.now(), span = Math.min(180000, Math.max(20000, now - oldest + 2000)), w = 300, h = 80;
          document.getElementById('charts').replaceChildren(...chartDefs.map(([column, title]) => {
            let max = 0;
            for (const n of nodes) for (const p of charts[n]) if (p[column] != null) max = Math.max(max, p[column]);
            const top = max > 0 ? max * 1.1 : 1;
            const chart = svg('svg', {viewBox: `0 0 ${w} ${h}`, width: '100%', height: h, preserveAspectRatio: 'none', 'data-chart': title});
            chart.append(svg('rect', {x: 0, y: 0, width: w, height: h, fill: '#0d1117'}));
            nodes.forEach((n, i) => {
              // A line per run of points a second apart: a node that did not answer leaves a gap.
              let run = [], last = 0;
              const flush = () => {
                if (run.length) chart.append(svg('polyline', {points: run.join(' '), fill: 'none', stroke: palette[i % palette.length], 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke', 'data-node': n}));
                run = [];
              };
              for (const p of charts[n]) {
                if (p[column] == null || p[0] < now - span) continue;
                if (last && p[0] - last > 3000) flush();
                last = p[0];
                run.push(((p[0] - (now - span)) / span * w).toFixed(1) + ',' + (h - 2 - p[column] / top * (h - 4)).toFixed(1));
              }
              flush();
            });
            const figure = el('figure');
            figure.append(el('figcaption', {}, title + ' (top ' + (max > 0 ? max.toPrecision(3) : '0') + ', ' + Math.round(span / 1000) + ' s)'), chart);
            return figure;
          }));
        }
        async function poll() {
          if (polling) return;
          polling = true;
          try {
            const r = await fetch('/api/poll?after=' + next, {cache: 'no-store'});
            if (r.status === 401) { location.reload(); return; }
            const j = await r.json();
            state = j.state; stateAt = j.stateAt; next = j.next;
            j.events.forEach(apply);
            render();
            renderCharts(j.charts || {});
            renderGuide(j.scenario);
          } catch (e) {
            document.getElementById('verdict').textContent = 'console unreachable';
          } finally { polling = false; }
        }
        function note(text, ok) {
          const li = el('li', {class: ok ? 'online' : 'offline'}, text);
          const results = document.getElementById('results');
          if (results.dataset.used !== '1') { results.replaceChildren(); results.dataset.used = '1'; }
          results.prepend(li);
        }
        async function act(body, question) {
          if (!confirm(question)) return;
          note('running: ' + JSON.stringify(body), true);
          try {
            const r = await fetch('/api/action', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Csrf-Token': csrf}, body: JSON.stringify(body)});
            if (!r.ok) { note(body.action + ': ' + (await r.text()), false); return; }
            const j = await r.json();
            note('$ ' + j.command + '\\n' + j.output.trim(), j.ok);
          } catch (e) { note(body.action + ': ' + e, false); }
        }
        // Guided scenarios: the steps and their outcomes come with each poll; buttons move it on.
        let guideText = '';
        async function loadScenarios() {
          const r = await api('/api/scenarios');
          const list = r.ok ? await r.json() : [];
          document.getElementById('scenario-name').replaceChildren(
            ...list.map(s => el('option', {value: s.name, title: s.summary}, s.name + ': ' + s.summary)));
        }
        function renderGuide(g) {
          const text = JSON.stringify(g);
          if (text === guideText) return;
          guideText = text;
          for (const id of ['scenario-step', 'scenario-play', 'scenario-pause', 'scenario-close']) document.getElementById(id).disabled = !g;
          const box = document.getElementById('scenario'), stateText = document.getElementById('scenario-state');
          if (!g) { box.replaceChildren(); stateText.textContent = ''; stateText.dataset.state = ''; return; }
          const running = g.steps.some(s => s.state === 'running'), failed = g.steps.find(s => s.state === 'failed');
          stateText.dataset.state = g.done ? 'done' : failed && !running ? 'failed' : running ? 'running' : 'ready';
          stateText.textContent = g.name + ': ' + ({done: 'every step held', failed: 'a step did not hold: try it again, or close',
            running: g.playing ? 'playing' : 'running a step', ready: 'ready'})[stateText.dataset.state];
          const rows = [el('p', {class: 'dim'}, g.summary.join(' '))];
          for (const s of g.steps) {
            if (s.verb === 'say') { rows.push(el('p', {class: 'narration'}, s.text)); continue; }
            const d = el('div', {class: 'step ' + s.state, 'data-line': s.line, 'data-state': s.state});
            d.append(el('code', {}, s.verb + ' ' + s.text));
            if (s.state === 'running') d.append(el('span', {class: 'suspect'}, '  running'));
            if (s.summary !== undefined) d.append(el('span', {class: 'dim'}, '  ' + s.summary + ' (' + s.seconds.toFixed(1) + ' s)'));
            if (s.commands && s.commands.length) {
              const more = el('details');
              more.append(el('summary', {class: 'dim'}, 'output'),
                el('pre', {}, s.commands.map(c => '$ ' + c.line + '\\n' + c.output.trimEnd()).join('\\n')));
              if (s.state === 'failed') more.open = true;
              d.append(more);
            }
            rows.push(d);
          }
          box.replaceChildren(...rows);
        }
        async function guide(body) {
          const r = await post('/api/scenario', body);
          if (!r.ok) { note(body.action + ': ' + await r.text(), false); return; }
          renderGuide(await r.json());
        }
        // The object browser: listings when asked, the layout of the object shown once a second.
        let bucket = '', prefix = '', shown = null;
        const layoutRowsMax = 32;
        const api = (path, init) => fetch(path, Object.assign({cache: 'no-store'}, init || {}));
        const post = (path, body) => api(path, {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Csrf-Token': csrf}, body: JSON.stringify(body)});
        async function loadBuckets() {
          const r = await api('/api/buckets');
          if (!r.ok) return;
          const names = await r.json();
          const select = document.getElementById('bucket');
          select.replaceChildren(...names.map(n => el('option', {value: n}, n)));
          if (names.includes(bucket)) select.value = bucket; else { bucket = names[0] || ''; prefix = ''; }
          loadKeys();
        }
        async function loadBucketTools() {
          const tools = document.getElementById('bucket-tools');
          if (!bucket) return tools.replaceChildren();
          const r = await api('/api/bucket?bucket=' + encodeURIComponent(bucket));
          const info = r.ok ? await r.json() : {versioning: '?'};
          const on = info.versioning === 'Enabled';
          tools.replaceChildren(el('span', {class: 'dim', id: 'versioning'}, ' versioning: ' + info.versioning + ' '),
            el('button', {'data-versioning': on ? 'Suspended' : 'Enabled'}, on ? 'suspend versioning' : 'enable versioning'),
            el('button', {id: 'delete-bucket'}, 'delete bucket'));
        }
        async function loadVersions(key) {
          const r = await api('/api/versions?bucket=' + encodeURIComponent(bucket) + '&key=' + encodeURIComponent(key));
          const table = document.getElementById('versions');
          if (!r.ok) { table.replaceChildren(); note(key + ': ' + await r.text(), false); return; }
          const versions = await r.json();
          const head = el('tr'); head.append(...['version of ' + key, 'modified', 'size', ''].map(t => el('th', {}, t)));
          table.replaceChildren(head, ...versions.map(v => {
            const tr = el('tr', {'data-version': v.versionId, 'data-marker': String(v.isDeleteMarker)});
            const td = el('td');
            if (!v.isDeleteMarker) {
              td.append(el('button', {'data-version-do': 'layout', 'data-key': key, 'data-version': v.versionId}, 'layout'),
                el('button', {'data-version-do': 'download', 'data-key': key, 'data-version': v.versionId}, 'download'));
            }
            td.append(el('button', {'data-version-do': 'delete', 'data-key': key, 'data-version': v.versionId}, 'delete for good'));
            tr.append(el('td', {}, v.versionId + (v.isLatest ? ' (latest)' : '') + (v.isDeleteMarker ? ' delete marker' : '')),
              el('td', {}, new Date(v.modTime).toLocaleString()), el('td', {}, v.isDeleteMarker ? '-' : String(v.size)), td);
            return tr;
          }));
        }
        // The folder shown: its subfolders and keys so far, and where its next page starts.
        let listing = {folders: [], keys: [], next: null};
        async function loadKeys(more) {
          if (!more) loadBucketTools();
          document.getElementById('path').textContent = bucket ? bucket + '/' + prefix : '(no bucket)';
          const table = document.getElementById('objects');
          if (!bucket) return table.replaceChildren();
          const after = more && listing.next ? '&after=' + encodeURIComponent(listing.next) : '';
          const asked = bucket + '/' + prefix;
          const r = await api('/api/folder?bucket=' + encodeURIComponent(bucket) + '&prefix=' + encodeURIComponent(prefix) + after);
          const page = r.ok ? await r.json() : {folders: [], keys: []};
          if (asked !== bucket + '/' + prefix) return;  // the user went elsewhere meanwhile
          if (!more) listing = {folders: [], keys: [], next: null};
          listing.folders.push(...page.folders); listing.keys.push(...page.keys); listing.next = page.next || null;
          const head = el('tr'); head.append(el('th', {}, 'name'), el('th', {}, ''));
          const rows = [head];
          if (prefix) { const tr = el('tr'); const b = el('button', {'data-folder': prefix.replace(/[^/]*\\/$/, '')}, '..'); const td = el('td'); td.append(b); tr.append(td, el('td')); rows.push(tr); }
          for (const f of listing.folders) { const tr = el('tr'); const td = el('td'); td.append(el('button', {'data-folder': f}, f.slice(prefix.length))); tr.append(td, el('td')); rows.push(tr); }
          if (document.getElementById('show-deleted').checked) {
            const d = await api('/api/deleted?bucket=' + encodeURIComponent(bucket) + '&prefix=' + encodeURIComponent(prefix));
            for (const k of (d.ok ? await d.json() : [])) {
              if (k.slice(prefix.length).includes('/')) continue;  // inside a folder: shown there
              const tr = el('tr', {'data-deleted': k, class: 'unknown'});
              const td = el('td');
              td.append(el('button', {'data-object': 'versions', 'data-key': k}, 'versions'));
              tr.append(el('td', {}, k.slice(prefix.length) + ' (deleted)'), td);
              rows.push(tr);
            }
          }
          for (const k of listing.keys) {
            const tr = el('tr', {'data-key': k});
            const td = el('td');
            for (const [what, label] of [['layout', 'layout'], ['download', 'download'], ['share', 'share link'], ['versions', 'versions'], ['delete', 'delete']]) {
              td.append(el('button', {'data-object': what, 'data-key': k}, label));
            }
            tr.append(el('td', {}, k.slice(prefix.length)), td);
            rows.push(tr);
          }
          if (listing.next) {
            const tr = el('tr'), td = el('td');
            td.append(el('button', {id: 'more-keys'}, `more (${listing.folders.length + listing.keys.length} listed)`));
            tr.append(td, el('td')); rows.push(tr);
          }
          table.replaceChildren(...rows);
        }
        async function layout() {
          if (!shown) return;
          const r = await api('/api/shards?bucket=' + encodeURIComponent(shown.bucket) + '&key=' + encodeURIComponent(shown.key)
            + (shown.versionId ? '&versionId=' + encodeURIComponent(shown.versionId) : ''));
          const box = document.getElementById('layout');
          if (!r.ok) { box.replaceChildren(el('p', {class: 'error'}, shown.key + ': ' + await r.text())); return; }
          const m = await r.json();
          const title = el('p', {class: m.readable ? 'online' : 'offline', id: 'layout-summary'},
            `${m.bucket}/${m.key}: ${m.size} bytes in ${m.blocks} block${m.blocks === 1 ? '' : 's'}, ${m.dataShards} data + ${m.parityShards} parity shards, ${m.good} good` + (m.readable ? ', readable' : ', NOT readable'));
          // Blocks x shards: each shard (a column, on its node) holds one frame of every block. A row
          // stands for several blocks when there are more than layoutRowsMax.
          const shards = [...m.shards].sort((a, b) => a.index - b.index);
          const per = Math.max(1, Math.ceil(m.blocks / layoutRowsMax)), rows = Math.ceil(m.blocks / per);
          const grid = el('table', {class: 'blocks', id: 'block-grid'});
          const head = el('tr');
          head.append(el('th', {}, 'block'));
          for (const sh of shards) {
            const th = el('th', {class: 'shard ' + sh.state, 'data-node': sh.node, 'data-state': sh.state});
            th.append(el('b', {}, sh.node), el('br'), document.createTextNode(`shard ${sh.index} (${sh.role})`), el('br'),
              el('span', {class: sh.state}, sh.state), document.createTextNode(' ' + (sh.bytes || 0) + ' B'));
            if (sh.detail) th.append(el('br'), el('span', {class: 'dim'}, sh.detail));
            head.append(th);
          }
          grid.append(head);
          for (let row = 0; row < rows; row++) {
            const first = row * per, last = Math.min(m.blocks, first + per) - 1;
            const tr = el('tr');
            tr.append(el('th', {class: 'dim'}, first === last ? String(first) : `${first}-${last}`));
            for (const sh of shards) {
              // A corrupt shard names its bad blocks (a node that does not: all of them count as bad).
              const bad = sh.state === 'corrupt' && (!sh.badBlocks || sh.badBlocks.some(b => b >= first && b <= last));
              const state = sh.state === 'corrupt' && !bad ? 'ok' : sh.state;
              tr.append(el('td', {class: 'cell ' + state, 'data-node': sh.node, 'data-block': first, 'data-state': state,
                title: `${sh.node}, shard ${sh.index}, block${first === last ? ' ' + first : 's ' + first + '-' + last}: ${state}`}));
            }
            grid.append(tr);
          }
          box.replaceChildren(title, grid);
        }
        // One PUT through the console (a whole file, or one part of a multipart upload).
        function send(url, blob, progress) {
          return new Promise(resolve => {
            const xhr = new XMLHttpRequest();
            xhr.open('PUT', url);
            xhr.setRequestHeader('X-Csrf-Token', csrf);
            xhr.upload.onprogress = e => { if (e.lengthComputable) progress(e.loaded); };
            xhr.onload = () => resolve({ok: xhr.status < 300, text: xhr.responseText});
            xhr.onerror = () => resolve({ok: false, text: 'the console did not answer'});
            xhr.send(blob);
          });
        }
        // A file up as one PUT, or (past multipartAbove) in parts; null, or what went wrong.
        async function uploadFile(file, key, bar, state) {
          const where = '/api/upload?bucket=' + encodeURIComponent(bucket) + '&key=' + encodeURIComponent(key);
          if (file.size <= multipartAbove) {
            const r = await send(where, file, loaded => { bar.value = loaded / file.size; });
            return r.ok ? null : r.text;
          }
          const start = await post('/api/multipart', {action: 'start', bucket, key, size: file.size, contentType: file.type});
          if (!start.ok) return await start.text();
          const {uploadId, partBytes} = await start.json();
          const parts = Math.ceil(file.size / partBytes), etags = [];
          const target = {bucket, key, uploadId};
          try {
            for (let n = 1; n <= parts; n++) {
              const offset = (n - 1) * partBytes;
              state.textContent = `uploading ${key}: part ${n} of ${parts}`;
              const r = await send(where + '&uploadId=' + encodeURIComponent(uploadId) + '&partNumber=' + n,
                file.slice(offset, offset + partBytes), loaded => { bar.value = (offset + loaded) / file.size; });
              if (!r.ok) throw new Error(`part ${n} of ${parts}: ${r.text}`);
              etags.push(JSON.parse(r.text).etag);
            }
            state.textContent = `uploading ${key}: joining ${parts} parts`;
            const done = await post('/api/multipart', Object.assign({action: 'complete', etags}, target));
            if (!done.ok) throw new Error(await done.text());
            return null;
          } catch (e) {
            // The parts sent so far would stay on the nodes until the upload is aborted.
            await post('/api/multipart', Object.assign({action: 'abort'}, target)).catch(() => {});
            return e.message;
          }
        }
        async function upload(files) {
          if (!bucket) { note('make a bucket first', false); return; }
          const bar = document.getElementById('progress'), state = document.getElementById('upload-state');
          for (const file of [...files]) {
            const key = prefix + file.name;
            bar.hidden = false; bar.value = 0;
            state.textContent = 'uploading ' + key;
            const error = await uploadFile(file, key, bar, state).catch(e => String(e));
            state.textContent = error ? key + ': ' + error : 'uploaded ' + key;
            state.dataset.done = error ? '' : key;
            note((error ? 'upload failed: ' : 'uploaded ') + key + ' (' + file.size + ' bytes)', !error);
          }
          bar.hidden = true;
          loadKeys();
        }
        document.getElementById('bucket').addEventListener('change', ev => { bucket = ev.target.value; prefix = ''; loadKeys(); });
        document.getElementById('show-deleted').addEventListener('change', () => loadKeys());
        document.getElementById('file').addEventListener('change', ev => upload(ev.target.files));
        const drop = document.getElementById('drop');
        drop.addEventListener('dragover', ev => { ev.preventDefault(); drop.classList.add('over'); });
        drop.addEventListener('dragleave', () => drop.classList.remove('over'));
        drop.addEventListener('drop', ev => { ev.preventDefault(); drop.classList.remove('over'); upload(ev.dataTransfer.files); });
        document.addEventListener('click', async ev => {
          const b = ev.target.closest('button');
          if (!b) return;
          if (b.id === 'make-bucket') {
            const name = document.getElementById('new-bucket').value.trim();
            const r = await post('/api/bucket', {name});
            note(r.ok ? 'made bucket ' + name : name + ': ' + await r.text(), r.ok);
            if (r.ok) { bucket = name; prefix = ''; loadBuckets(); }
          } else if (b.dataset.versioning) {
            const r = await post('/api/versioning', {bucket, status: b.dataset.versioning});
            note(r.ok ? bucket + ': versioning ' + b.dataset.versioning : bucket + ': ' + await r.text(), r.ok);
            loadBucketTools();
          } else if (b.id === 'delete-bucket') {
            if (!confirm('delete bucket ' + bucket + '? (it must be empty)')) return;
            const r = await post('/api/delete-bucket', {bucket});
            note(r.ok ? 'deleted bucket ' + bucket : bucket + ': ' + await r.text(), r.ok);
            if (r.ok) { bucket = ''; loadBuckets(); }
          } else if (b.dataset.versionDo) {
            const key = b.dataset.key, versionId = b.dataset.version;
            if (b.dataset.versionDo === 'layout') { shown = {bucket, key, versionId}; layout(); }
            else if (b.dataset.versionDo === 'download') {
              const r = await post('/api/link', {bucket, key, versionId, seconds: 300});
              if (!r.ok) { note(key + ': ' + await r.text(), false); return; }
              const j = await r.json();
              const a = el('a', {href: j.url, download: key.split('/').pop(), id: 'version-link'}); document.body.append(a); a.click(); a.remove();
              document.getElementById('share').replaceChildren(document.createTextNode('version link, valid 5 min: '), el('input', {id: 'share-url', size: 90, value: j.url, readonly: ''}));
            } else {
              if (!confirm('delete version ' + versionId + ' of ' + key + ' for good?')) return;
              const r = await post('/api/delete', {bucket, key, versionId});
              note(r.ok ? 'deleted version ' + versionId + ' of ' + key : key + ': ' + await r.text(), r.ok);
              loadVersions(key); loadKeys();
            }
          } else if (b.id === 'scenario-open') {
            const name = document.getElementById('scenario-name').value;
            if (confirm(`Open the ${name} scenario? Its first step starts this cluster over: its objects are deleted.`)) guide({action: 'open', name});
          } else if (b.id.startsWith('scenario-')) {
            guide({action: b.id.slice('scenario-'.length)});
          } else if (b.id === 'more-keys') {
            loadKeys(true);
          } else if (b.dataset.folder !== undefined) {
            prefix = b.dataset.folder; loadKeys();
          } else if (b.dataset.object) {
            const key = b.dataset.key, what = b.dataset.object;
            if (what === 'layout') { shown = {bucket, key}; layout(); }
            else if (what === 'versions') loadVersions(key);
            else if (what === 'download' || what === 'share') {
              const r = await post('/api/link', {bucket, key, seconds: what === 'share' ? 86400 : 300});
              if (!r.ok) { note(key + ': ' + await r.text(), false); return; }
              const j = await r.json();
              if (what === 'download') { const a = el('a', {href: j.url, download: key.split('/').pop()}); document.body.append(a); a.click(); a.remove(); }
              else { const p = document.getElementById('share'); p.replaceChildren(document.createTextNode('share link, valid 24 h: '), el('input', {id: 'share-url', size: 90, value: j.url, readonly: ''})); }
            } else if (what === 'delete') {
              if (!confirm('delete ' + bucket + '/' + key + '?')) return;
              const r = await post('/api/delete', {bucket, key});
              note(r.ok ? 'deleted ' + key : key + ': ' + await r.text(), r.ok);
              if (shown && shown.key === key) { shown = null; document.getElementById('layout').replaceChildren(); }
              loadKeys();
            }
          }
        });
        document.addEventListener('click', ev => {
          const b = ev.target.closest('button');
          if (!b) return;
          if (b.dataset.action) {
            const body = {action: b.dataset.action, nodes: b.dataset.node};
            if (b.dataset.action === 'slow') {
              const delay = prompt('Delay every request to and from ' + b.dataset.node + ' by', '200ms');
              if (!delay) return;
              body.delay = delay;
            }
            act(body, b.dataset.action + ' ' + b.dataset.node + '?');
          } else if (b.dataset.cluster) {
            const a = b.dataset.cluster, body = {action: a};
            if (a === 'partition') { body.groupA = document.getElementById('groupA').value; body.groupB = document.getElementById('groupB').value; }
            if (a === 'corrupt') { body.nodes = document.getElementById('corrupt-node').value; body.object = document.getElementById('corrupt-object').value; }
            act(body, a + '?');
          }
        });
        poll();
        setInterval(poll, 1000);
        loadBuckets();
        loadScenarios();
        setInterval(layout, 1000);
        """
}
