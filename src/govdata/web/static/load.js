// A load's page (aggregation/load.html): poll the load until it ends, then show its report.
// A file, not an inline script: the pages' CSP allows scripts from this site only.
(function () {
  var status = document.getElementById("load-status");
  if (!status || status.dataset.finished === "true") { return; }
  var url = status.dataset.url;
  var bar = document.getElementById("load-progress");
  function tick() {
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (d) {
      if (["succeeded", "rejected", "failed"].indexOf(d.status) >= 0) { window.location.reload(); return; }
      document.getElementById("rows-read").textContent = d.rows_read.toLocaleString("zh-CN");
      document.getElementById("rows-bad").textContent = d.rows_bad;
      if (d.rows_estimated && bar) { bar.max = Math.max(d.rows_estimated, d.rows_read); bar.value = d.rows_read; }
      setTimeout(tick, 1000);
    }).catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 500);
})();
