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
  function hex16() {
    var a = new Uint8Array(16), s = "";
    window.crypto.getRandomValues(a);
    for (var i = 0; i < a.length; i++) s += (a[i] < 16 ? "0" : "") + a[i].toString(16);
    return s;
  }
  form.addEventListener("submit", function (e) {
    if (!input.files.length) return;
    e.preventDefault();
    var total = 0;
    for (var i = 0; i < input.files.length; i++) total += input.files[i].size;
    // The fields first: the server analyses the files as they arrive, with the
    // flags it has read before them.
    var all = new FormData(form), body = new FormData();
    all.forEach(function (v, k) { if (k !== "file") body.append(k, v); });
    for (var j = 0; j < input.files.length; j++) body.append("file", input.files[j], input.files[j].name);
    var job = window.crypto && window.crypto.getRandomValues ? hex16() : null;
    var xhr = new XMLHttpRequest();
    var t0 = Date.now(), timer = null, sent = 0, sentAll = false, st = null;
    function tell() {
      var s = sentAll ? "Uploaded " + mb(total) : "Uploading: " + mb(sent) + " of " + mb(total);
      if (st && st.phase === "reporting") s += " · analysed; writing the report…";
      else if (st) s += " · analysed " + mb(st.analysed) + " of " + mb(total) + ", " + st.mb_per_s.toFixed(1) + " MB/s";
      else if (sentAll) s += " · analysing… " + ((Date.now() - t0) / 1000).toFixed(0) + " s";
      said.textContent = s;
      if (st && total) { bar.max = total; bar.value = Math.min(st.analysed, total); }
    }
    function poll() {
      if (!job) { tell(); return; }
      var p = new XMLHttpRequest();
      p.open("GET", "/progress/" + job);
      p.onload = function () {
        if (p.status === 200) { try { st = JSON.parse(p.responseText); } catch (err) { st = null; } }
        tell();
      };
      p.send();
    }
    xhr.open("POST", form.action + (job ? "?progress=" + job : ""));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (p) {
      sent = p.loaded;
      if (!job) { bar.max = p.total; bar.value = p.loaded; }
      tell();
    };
    xhr.upload.onload = function () { sentAll = true; tell(); };
    timer = setInterval(poll, 500);
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
    xhr.send(body);
  });
})();
