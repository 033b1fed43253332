import HTTP
import S3

/// The dashboard's two pages, whole: HTML, CSS and script in one document served by the node itself
/// (no CDN, no fetch anywhere else). The main page polls `api/cluster` every second, follows
/// `/_dc/events` (SSE) for the timeline, and draws the shard map of the object it is asked about.
public enum DashboardPage {
    public static func login(error: String?) -> String {
        let message = error.map { "<p class=\"error\" id=\"login-error\">\(escape($0))</p>" } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>devcluster: log in</title>
            <link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">
            <style>\(style)
            form { max-width: 22rem; margin: 4rem auto; display: grid; gap: .6rem; }
            input { font: inherit; padding: .4rem; background: #0d1117; color: #e6edf3; border: 1px solid #30363d; }
            button { font: inherit; padding: .5rem; background: #238636; color: white; border: 0; cursor: pointer; }
            </style></head><body>
            <form method="post" action="/_dc/ui/login" id="login">
            <h1>devcluster</h1>
            <p class="dim">Log in with the cluster's access key and secret key (<code>devcluster creds</code>).</p>
            \(message)
            <label>Access key <input name="accessKey" id="accessKey" autocomplete="username" required></label>
            <label>Secret key <input name="secretKey" id="secretKey" type="password" autocomplete="current-password" required></label>
            <button type="submit" id="login-button">Log in</button>
            </form></body></html>
            """
    }

    public static func main(node: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>devcluster: \(escape(node))</title>
        <link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">
        <style>\(style)</style></head><body>
        <header><h1>devcluster <span class="dim">as <b id="me">\(escape(node))</b> sees it</span></h1>
        <span id="summary" class="pill">loading</span>
        <form method="post" action="/_dc/ui/logout"><button class="link">log out</button></form></header>
        <main>
        <section class="wide"><h2>Nodes</h2>
        <table id="nodes"><thead><tr><th>node</th><th>state</th><th>heard</th><th>up</th><th>req/s</th>
        <th>in flight</th><th>disk free</th><th>data</th></tr></thead><tbody></tbody></table></section>
        <section><h2>Views <span class="dim">row: observer, column: the node it sees</span></h2>
        <table id="matrix"></table></section>
        <section><h2>Healing</h2><div id="healing" class="dim">nothing to heal</div></section>
        <section class="wide"><h2>Shard map</h2>
        <form id="shard-form"><select id="bucket"></select>
        <input id="key" list="keys" placeholder="key" size="40"><datalist id="keys"></datalist>
        <button type="submit">show</button></form>
        <div id="shards" class="dim">pick a bucket and a key</div></section>
        <section class="wide"><h2>Events <span class="dim" id="stream-state">connecting</span></h2>
        <ol id="events"></ol></section>
        </main>
        <script>\(script)</script></body></html>
        """
    }

    /// HTML text and attribute values escape as XML's do.
    static func escape(_ text: String) -> String { XMLWriter.escape(text) }

    /// The headers a page of ours goes with (the dashboard's, the console's): not cached, not framed,
    /// and everything it needs comes from where it came from (no CDN, no code from elsewhere).
    public static let pageHeaders: HTTPHeaders = [
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "Content-Security-Policy":
            "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline' 'self'; img-src 'self' data:",
        "X-Frame-Options": "DENY",
    ]

    static let style = """
        body { margin: 0; font: 14px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: #0d1117; color: #e6edf3; }
        header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid #30363d; }
        header form { margin-left: auto; }
        h1 { font-size: 1.1rem; margin: 0; } h2 { font-size: .95rem; margin: 0 0 .4rem; }
        main { display: grid; grid-template-columns: repeat(auto-fit, minmax(34rem, 1fr)); gap: 1rem; padding: 1rem; }
        section { background: #161b22; border: 1px solid #30363d; border-radius: 6px; padding: .7rem; overflow: auto; }
        .wide { grid-column: 1 / -1; }
        table { border-collapse: collapse; } th, td { padding: .15rem .6rem; text-align: left; white-space: nowrap; }
        th { color: #8b949e; font-weight: normal; border-bottom: 1px solid #30363d; }
        .dim { color: #8b949e; font-weight: normal; } .error { color: #f85149; }
        .online, .ok { color: #3fb950; } .suspect, .stale, .healing { color: #d29922; }
        .offline, .corrupt, .missing, .unreachable { color: #f85149; }
        .old { opacity: .4; }
        .pill { border: 1px solid #30363d; border-radius: 1rem; padding: .1rem .6rem; }
        .bar { display: inline-block; width: 12rem; height: .7rem; background: #30363d; vertical-align: middle; }
        .bar i { display: block; height: 100%; background: #1f6feb; }
        #events { list-style: none; padding: 0; margin: 0; max-height: 22rem; overflow: auto; }
        #events li { white-space: nowrap; } #events .t { color: #8b949e; }
        button.link { background: none; border: 0; color: #58a6ff; cursor: pointer; font: inherit; }
        select, input, button { font: inherit; }
        """

    static let script = #"""
        "use strict";
        const $ = (id) => document.getElementById(id);
        const me = $("me").textContent;
        const text = (tag, content, cls) => {
          const e = document.createElement(tag);
          e.textContent = content;
          if (cls) e.className = cls;
          return e;
        };
        const bytes = (n) => {
          if (n == null) return "-";
          const units = ["B", "KiB", "MiB", "GiB", "TiB"];
          let i = 0;
          while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
          return (i ? n.toFixed(1) : n) + " " + units[i];
        };
        const ms = (n) => n == null ? "never" : n < 1000 ? n + " ms" : n < 120000 ? (n / 1000).toFixed(1) + " s" :
          n < 7200000 ? Math.round(n / 60000) + " min" : (n / 3600000).toFixed(1) + " h";
        // How much of a rebuild is done, 0...1: by bytes, or by objects while the bytes are unknown.
        const rebuilt = (r) => r.bytesTotal ? r.bytesDone / r.bytesTotal : (r.objectsTotal ? r.objectsDone / r.objectsTotal : 0);

        async function getJSON(path) {
          const r = await fetch(path, { credentials: "same-origin", cache: "no-store" });
          if (r.status === 401) { location.reload(); throw new Error("logged out"); }
          if (!r.ok) throw new Error((await r.text()).trim() || ("HTTP " + r.status));
          return r.json();
        }

        function dataCell(status, peerState) {
          if (!status) return text("td", peerState === "offline" ? "-" : "?", "dim");
          const h = status.healing || {};
          const td = document.createElement("td");
          if (h.rebuild) {
            const r = h.rebuild;
            const done = rebuilt(r);
            td.className = "healing";
            td.textContent = "healing " + Math.floor(done * 100) + "%";
          } else if (h.queued || h.running || h.missedPending) {
            td.className = "healing";
            td.textContent = "healing " + (h.queued + h.running) + " queued, " + h.missedPending + " missed writes";
          } else {
            td.className = "ok";
            td.textContent = "ok";
          }
          return td;
        }

        function drawNodes(view) {
          const mine = view.statuses[me];
          const peers = Object.fromEntries((mine.peers || []).map((p) => [p.id, p]));
          const body = document.querySelector("#nodes tbody");
          body.replaceChildren();
          for (const id of view.members) {
            const s = view.statuses[id];
            const p = peers[id];
            const state = id === me ? "online" : (p ? p.state : "?");
            const load = id === me ? mine.load : (s ? s.load : p && p.load);
            const tr = document.createElement("tr");
            tr.dataset.node = id;
            tr.append(text("td", id + (id === me ? " (this node)" : "")), text("td", state, "state " + state),
              text("td", id === me ? "-" : ms(p && p.lastHeardMs)),
              text("td", s ? ms(s.node.uptimeMs) : "-"),
              text("td", load ? load.requestsPerSecond.toFixed(1) : "-"),
              text("td", load ? String(load.requestsInFlight) : "-"),
              text("td", load ? bytes(load.diskFreeBytes) : "-"), dataCell(s, state));
            body.append(tr);
          }
          const online = mine.cluster.online, quorum = mine.cluster.quorum;
          $("summary").textContent = online + "/" + mine.cluster.members + " online, write quorum " + quorum +
            (mine.cluster.quorumAvailable ? " available" : " LOST");
          $("summary").className = "pill " + (mine.cluster.quorumAvailable ? "online" : "offline");
        }

        function drawMatrix(view) {
          const mine = view.statuses[me];
          const peers = Object.fromEntries((mine.peers || []).map((p) => [p.id, p]));
          const table = $("matrix");
          table.replaceChildren();
          const head = document.createElement("tr");
          head.append(text("th", ""));
          for (const id of view.members) head.append(text("th", id));
          table.append(head);
          for (const observer of view.members) {
            const tr = document.createElement("tr");
            tr.dataset.observer = observer;
            tr.append(text("th", observer));
            let row;
            if (observer === me) row = Object.fromEntries(Object.values(peers).map((p) => [p.id, p.state]));
            else row = peers[observer] && peers[observer].view;
            const stale = observer !== me && peers[observer] && peers[observer].state !== "online";
            for (const id of view.members) {
              const state = id === observer ? "self" : (row && row[id]) || "?";
              const td = text("td", state === "self" ? "-" : state, state + (stale ? " old" : ""));
              if (stale) td.title = "last heard from " + observer + " " + ms(peers[observer].lastHeardMs) + " ago";
              tr.append(td);
            }
            table.append(tr);
          }
        }

        function drawHealing(view) {
          const box = $("healing");
          box.replaceChildren();
          let any = false;
          for (const id of view.members) {
            const s = view.statuses[id];
            if (!s || !s.healing) continue;
            const h = s.healing;
            if (h.rebuild) {
              any = true;
              const r = h.rebuild;
              const fraction = rebuilt(r);
              const line = document.createElement("div");
              line.className = "rebuild";
              line.dataset.node = id;
              const bar = document.createElement("span");
              bar.className = "bar";
              const fill = document.createElement("i");
              fill.style.width = Math.min(100, fraction * 100).toFixed(1) + "%";
              bar.append(fill);
              line.append(text("b", id + " rebuilding (" + r.phase + ") "), bar,
                text("span", " " + r.objectsDone + "/" + r.objectsTotal + " objects, " + bytes(r.bytesDone) + "/" +
                  bytes(r.bytesTotal) + ", " + bytes(r.bytesPerSecond) + "/s, ETA " +
                  (r.etaMs == null ? "?" : ms(r.etaMs))));
              box.append(line);
            }
            if (h.queued || h.running || h.missedPending) {
              any = true;
              box.append(text("div", id + ": " + h.queued + " queued, " + h.running + " healing, " + h.missedPending +
                " missed writes to replay, " + h.healed + " healed so far", "healing"));
            }
            if (h.scan && !h.scan.finished) {
              any = true;
              box.append(text("div", id + ": scan pass " + h.scan.pass + ", " + h.scan.objects + " objects checked, " +
                h.scan.bad + " bad", "dim"));
            }
          }
          if (!any) box.append(text("span", "every node is fully redundant; nothing queued", "ok"));
        }

        async function refresh() {
          try {
            const view = await getJSON("/_dc/ui/api/cluster");
            drawNodes(view);
            drawMatrix(view);
            drawHealing(view);
          } catch (e) {
            $("summary").textContent = "this node does not answer: " + e.message;
            $("summary").className = "pill offline";
          }
        }

        function describe(e) {
          const skip = new Set(["time", "seq", "node", "event"]);
          return Object.entries(e).filter(([k]) => !skip.has(k))
            .map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" ");
        }

        function follow() {
          const list = $("events");
          const source = new EventSource("/_dc/events");
          source.onopen = () => { $("stream-state").textContent = "live"; };
          source.onerror = () => { $("stream-state").textContent = "reconnecting"; };
          const add = (msg) => {
            let e;
            try { e = JSON.parse(msg.data); } catch (_) { return; }
            const li = document.createElement("li");
            li.dataset.event = e.event;
            li.append(text("span", (e.time || "").replace("T", " ").replace("Z", "") + " ", "t"),
              text("b", e.node + " ", "dim"), text("b", e.event + " ", /offline|bitrot|failed|lost/.test(e.event) ? "offline" :
                /online|finished|healed/.test(e.event) ? "online" : ""),
              text("span", describe(e)));
            list.prepend(li);
            while (list.children.length > 300) list.lastChild.remove();
            if (!/^heal_progress/.test(e.event)) setTimeout(refresh, 100);
          };
          source.onmessage = add;
        }

        async function loadBuckets() {
          try {
            const buckets = await getJSON("/_dc/ui/api/buckets");
            const select = $("bucket");
            const chosen = select.value;
            select.replaceChildren(...buckets.map((b) => text("option", b)));
            if (buckets.includes(chosen)) select.value = chosen;
            await loadKeys();
          } catch (_) { /* the next refresh tries again */ }
        }

        async function loadKeys() {
          const bucket = $("bucket").value;
          if (!bucket) return;
          const keys = await getJSON("/_dc/ui/api/keys?bucket=" + encodeURIComponent(bucket));
          $("keys").replaceChildren(...keys.map((k) => { const o = document.createElement("option"); o.value = k; return o; }));
        }

        async function showShards(event) {
          if (event) event.preventDefault();
          const bucket = $("bucket").value, key = $("key").value;
          const box = $("shards");
          if (!bucket || !key) return;
          location.hash = encodeURIComponent(bucket) + "/" + encodeURIComponent(key);
          try {
            const map = await getJSON("/_dc/ui/api/shards?bucket=" + encodeURIComponent(bucket) + "&key=" +
              encodeURIComponent(key));
            box.replaceChildren();
            box.className = "";
            box.append(text("div", bucket + "/" + key + ": " + bytes(map.size) + ", " + map.dataShards + " data + " +
              map.parityShards + " parity shards, version " + map.versionID + ", " + map.good + " good: " +
              (map.readable ? "readable" : "NOT readable"), map.readable ? "" : "error"));
            const table = document.createElement("table");
            table.id = "shard-table";
            const head = document.createElement("tr");
            for (const h of ["node", "shard", "role", "state", "bytes checked", "detail"]) head.append(text("th", h));
            table.append(head);
            for (const s of map.shards) {
              const tr = document.createElement("tr");
              tr.dataset.node = s.node;
              tr.append(text("td", s.node), text("td", String(s.index + 1)), text("td", s.role),
                text("td", s.state, "state " + s.state), text("td", bytes(s.bytes)), text("td", s.detail || "", "dim"));
              table.append(tr);
            }
            box.append(table);
          } catch (e) {
            box.className = "error";
            box.textContent = e.message;
          }
        }

        $("shard-form").addEventListener("submit", showShards);
        $("bucket").addEventListener("change", loadKeys);
        // A link to #bucket/key opens that object's shard map.
        function showLinked() {
          const wanted = location.hash.slice(1).split("/");
          if (wanted.length < 2) return;
          const bucket = decodeURIComponent(wanted[0]), key = decodeURIComponent(wanted.slice(1).join("/"));
          if (bucket === $("bucket").value && key === $("key").value && $("shard-table")) return;
          if (![...$("bucket").options].some((o) => o.value === bucket)) $("bucket").append(text("option", bucket));
          $("bucket").value = bucket;
          $("key").value = key;
          showShards();
        }
        window.addEventListener("hashchange", showLinked);
        refresh();
        setInterval(refresh, 1000);
        loadBuckets().then(showLinked);
        setInterval(loadBuckets, 10000);
        follow();
        """#
}
