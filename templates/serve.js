(function () {
  "use strict";
  var form = document.getElementById("up");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var input = form.querySelector("input[type=file]");
  var zone = document.getElementById("zone");
  var chosen = document.getElementById("chosen");
  var prog = document.getElementById("progress");
  var bar = document.getElementById("bar");
  var said = document.getElementById("said");
  var res = document.getElementById("result");
  var go = document.getElementById("go");
  function mb(n) { return (n / 1e6).toFixed(1) + " MB"; }
  function rate(n, ms) { return (n / 1e6 / Math.max(ms / 1000, 0.001)).toFixed(1) + " MB/s"; }
  function show() {
    chosen.textContent = "";
    for (var i = 0; i < input.files.length; i++) {
      var li = document.createElement("li");
      li.textContent = input.files[i].name + " (" + mb(input.files[i].size) + ")";
      chosen.appendChild(li);
    }
  }
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach(function (t) {
    zone.addEventListener(t, function (e) { e.preventDefault(); zone.className = "over"; });
  });
  ["dragleave", "drop"].forEach(function (t) {
    zone.addEventListener(t, function () { zone.className = ""; });
  });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
  });
  function failed(msg) {
    prog.className = "failed";
    said.textContent = msg;
    go.disabled = false;
  }
  function done(j, total, ms) {
    said.textContent = "Done: " + mb(total) + " uploaded and analysed in " + (ms / 1000).toFixed(1) + " s (" + rate(total, ms) + " end to end)";
    bar.max = 1; bar.value = 1;
    document.getElementById("headline").textContent = j.headline + (j.partial ? " (the report stands for part of the upload only: see its warnings)" : "");
    document.getElementById("open").href = j.report;
    document.getElementById("json").href = j.json;
    document.getElementById("md").href = j.markdown;
    document.getElementById("link").textContent = location.origin + j.report;
    var x = new XMLHttpRequest();
    x.open("GET", j.markdown);
    x.onload = function () { document.getElementById("summary").value = x.responseText; };
    x.send();
    res.hidden = false;
    go.disabled = false;
  }
  document.getElementById("copy").addEventListener("click", function () {
    var t = document.getElementById("summary");
    t.select();
    if (navigator.clipboard) navigator.clipboard.writeText(t.value); else document.execCommand("copy");
  });
  form.addEventListener("submit", function (e) {
    if (!input.files.length) return;
    e.preventDefault();
    var total = 0;
    for (var i = 0; i < input.files.length; i++) total += input.files[i].size;
    var xhr = new XMLHttpRequest();
    var t0 = Date.now(), timer = null;
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (p) {
      bar.max = p.total; bar.value = p.loaded;
      said.textContent = "Uploading: " + mb(p.loaded) + " of " + mb(p.total) + " · " + rate(p.loaded, Date.now() - t0);
    };
    xhr.upload.onload = function () {
      var t1 = Date.now();
      bar.removeAttribute("value");
      var tick = function () {
        said.textContent = "Uploaded " + mb(total) + " in " + ((t1 - t0) / 1000).toFixed(1) + " s (" + rate(total, t1 - t0) + "); analysing… " + ((Date.now() - t1) / 1000).toFixed(0) + " s";
      };
      tick();
      timer = setInterval(tick, 500);
    };
    xhr.onload = function () {
      clearInterval(timer);
      var j = {};
      try { j = JSON.parse(xhr.responseText); } catch (err) { j = {}; }
      if (xhr.status === 201 && j.id) done(j, total, Date.now() - t0);
      else if (xhr.status === 401) location.reload();
      else failed(j.error || ("HTTP " + xhr.status));
    };
    xhr.onerror = function () { clearInterval(timer); failed("The connection failed (is the server still running?)"); };
    prog.hidden = false; prog.className = ""; res.hidden = true; go.disabled = true;
    said.textContent = "Uploading…";
    xhr.send(new FormData(form));
  });
})();
