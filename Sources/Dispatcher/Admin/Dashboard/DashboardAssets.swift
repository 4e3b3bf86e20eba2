/// The dashboard's stylesheet and script, embedded so the page works offline and the
/// Content-Security-Policy can forbid every other origin (and inline code).
enum DashboardAssets {
    static let stylesheet = """
        :root { --fg: #1d232a; --muted: #5b6672; --line: #d8dde3; --bg: #f6f7f9; --ok: #1f7a3f;
                --bad: #b3261e; --warn: #9a6700; --accent: #2457c5; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
               background: var(--bg); }
        header { display: flex; gap: 1.5rem; align-items: baseline; padding: .8rem 1.5rem; background: #fff;
                 border-bottom: 1px solid var(--line); }
        header .brand { font-weight: 700; font-size: 1.1rem; }
        header nav a { margin-right: 1rem; color: var(--accent); text-decoration: none; }
        header .meta { margin-left: auto; color: var(--muted); font-size: .85rem; }
        main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
        h1 { font-size: 1.25rem; margin: .5rem 0 1rem; }
        h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: .78rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted);
             background: #fafbfc; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.error { max-width: 38rem; overflow-wrap: anywhere; color: var(--bad); }
        .badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .78rem;
                 border: 1px solid currentColor; }
        .badge.ok { color: var(--ok); } .badge.bad { color: var(--bad); } .badge.warn { color: var(--warn); }
        .badge.muted { color: var(--muted); }
        .notice { padding: .6rem .9rem; margin: 0 0 1rem; background: #e8f1ff; border: 1px solid #b6cdf5;
                  border-radius: .3rem; }
        .notice.error { background: #fdecea; border-color: #f1b5b0; }
        form.inline { display: inline; margin: 0; }
        button { white-space: nowrap; font: inherit; padding: .2rem .7rem; border: 1px solid var(--line); border-radius: .3rem;
                 background: #fff; cursor: pointer; }
        button.danger { color: var(--bad); } button.primary { color: var(--accent); }
        pre { margin: 0; padding: .6rem; background: #fff; border: 1px solid var(--line); border-radius: .3rem;
              overflow: auto; max-height: 28rem; white-space: pre-wrap; overflow-wrap: anywhere; }
        dl.fields { display: grid; grid-template-columns: 10rem 1fr; gap: .3rem 1rem; background: #fff;
                    padding: 1rem; border: 1px solid var(--line); }
        dl.fields dt { color: var(--muted); } dl.fields dd { margin: 0; overflow-wrap: anywhere; }
        svg.chart { display: block; }
        svg.chart rect.bar { fill: var(--accent); } svg.chart rect.frame { fill: #f0f3f7; }
        .pager { margin-top: .8rem; display: flex; gap: 1rem; }
        .muted { color: var(--muted); }
        .login { max-width: 24rem; margin: 4rem auto; background: #fff; padding: 1.5rem; border: 1px solid var(--line); }
        .login input { width: 100%; padding: .4rem; margin: .4rem 0 1rem; font: inherit; }
        """

    /// Refreshes the overview's figures every few seconds without reloading the page (and
    /// without losing the scroll position); stops quietly when the daemon is gone.
    static let script = """
        (function () {
          var target = document.getElementById('live');
          if (!target) { return; }
          var every = parseInt(target.getAttribute('data-refresh-ms') || '3000', 10);
          function refresh() {
            fetch('/partials/overview', { credentials: 'same-origin', cache: 'no-store' })
              .then(function (response) {
                if (!response.ok) { throw new Error('status ' + response.status); }
                return response.text();
              })
              .then(function (html) {
                target.innerHTML = html;
                var stamp = document.getElementById('refreshed');
                if (stamp) { stamp.textContent = 'updated ' + new Date().toLocaleTimeString(); }
                setTimeout(refresh, every);
              })
              .catch(function () {
                var stamp = document.getElementById('refreshed');
                if (stamp) { stamp.textContent = 'daemon not answering; refresh stopped'; }
              });
          }
          setTimeout(refresh, every);
        })();
        """
}
