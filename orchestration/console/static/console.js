// The saga console's only script: refresh the live parts of a page (no framework, no build).
"use strict";
(function () {
  const live = document.querySelector("[data-live]");
  if (!live) return;
  const every = Number(live.dataset.live) || 2000;
  async function refresh() {
    if (document.hidden) return;
    const url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    const answer = await fetch(url, { headers: { Accept: "text/html" } });
    if (!answer.ok) return;
    const fresh = await answer.text();
    if (fresh !== live.innerHTML) live.innerHTML = fresh;
    if (live.querySelector("[data-final]")) clearInterval(timer);
  }
  const timer = setInterval(() => { refresh().catch(() => {}); }, every);
})();
