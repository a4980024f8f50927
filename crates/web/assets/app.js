// Small progressive enhancements; every page works without script.
document.addEventListener("click", function (ev) {
  var add = ev.target.closest("[data-add-item]");
  if (!add) return;
  ev.preventDefault();
  var body = document.querySelector("table.items tbody");
  var rows = body.querySelectorAll("tr");
  var last = rows[rows.length - 1];
  var next = last.cloneNode(true);
  var index = rows.length;
  next.querySelectorAll("input, select").forEach(function (el) {
    el.name = el.name.replace(/items\[\d+\]/, "items[" + index + "]");
    if (el.id) el.id = el.id.replace(/\d+$/, String(index));
    if (el.tagName === "INPUT") el.value = "";
  });
  next.querySelectorAll(".error-text").forEach(function (el) { el.remove(); });
  next.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
  body.appendChild(next);
});

// Library upload: the file goes as the raw body of the ingest API (streamed to disk on the
// server), with upload progress; then the job page follows the background ingest.
(function () {
  var form = document.getElementById("upload");
  if (!form) return;
  var select = document.getElementById("up-table");
  var fresh = document.getElementById("up-new");
  var sync = function () { fresh.hidden = select.value !== ""; };
  select.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = form.elements;
    var file = f.file.files[0];
    var status = document.getElementById("up-status");
    var bar = document.getElementById("up-progress");
    if (!file) return;
    var table = f.table.value || f.new_table.value;
    if (!table) { status.textContent = "请填写新表名"; return; }
    var q = new URLSearchParams({ filename: file.name, mode: f.mode.value, on_bad_rows: f.on_bad_rows.value });
    if (!f.table.value) q.set("create", "true");
    if (f.key.value) q.set("key", f.key.value);
    if (f.sheet.value) q.set("sheet", f.sheet.value);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/library/tables/" + encodeURIComponent(table) + "/ingest?" + q.toString());
    xhr.setRequestHeader("x-csrf-token", form.dataset.csrf);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    bar.hidden = false;
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); status.textContent = "上传中 " + bar.value + "%"; }
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) {}
      if (xhr.status === 202) { window.location = "/jobs/" + body.id; }
      else { status.textContent = "上传失败：" + (body.message || xhr.status); }
    };
    xhr.onerror = function () { status.textContent = "上传中断，请重试"; };
    xhr.send(file);
  });
})();

// Job page: follow a queued or running job until it ends.
(function () {
  var job = document.getElementById("job");
  if (!job || ["succeeded", "failed"].indexOf(job.dataset.status) >= 0) return;
  var tick = function () {
    fetch("/api/v1/jobs/" + job.dataset.id, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
      if (j.status === "succeeded" || j.status === "failed") { window.location.reload(); return; }
      document.getElementById("job-rows").textContent = j.rows_done;
      document.getElementById("job-bytes").textContent = j.bytes_done + (j.bytes_total ? " / " + j.bytes_total : "");
      var bar = document.getElementById("job-progress");
      if (bar) bar.value = j.bytes_done;
      setTimeout(tick, 1000);
    }).catch(function () { setTimeout(tick, 3000); });
  };
  setTimeout(tick, 1000);
})();

// Data interface test console: calls the interface with the signed-in session and shows
// the answer.
(function () {
  var form = document.getElementById("console");
  if (!form) return;
  var out = document.getElementById("console-out");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var kind = form.elements.kind.value;
    var query = form.elements.query.value.trim();
    var base = form.dataset.base + "/" + kind;
    var init = { credentials: "same-origin", headers: {} };
    var url = base + (kind === "verify" || !query ? "" : "?" + query);
    if (kind === "verify") {
      init.method = "POST";
      init.body = query;
      init.headers["content-type"] = "application/json";
      var csrf = document.querySelector("input[name=_csrf]");
      var token = document.querySelector("meta[name=csrf-token]");
      if (token) init.headers["x-csrf-token"] = token.content;
      else if (csrf) init.headers["x-csrf-token"] = csrf.value;
    }
    out.textContent = "…";
    fetch(url, init).then(function (r) {
      return r.text().then(function (t) {
        var body = t;
        try { body = JSON.stringify(JSON.parse(t), null, 2); } catch (e) {}
        out.textContent = r.status + "\n" + body;
      });
    });
  });
})();

// Uploads of the projects pages: the file goes as the raw body of the form's API
// (`data-upload`), with the form's other fields and the file's name as the query; then the
// page moves on (`data-next`), or shows the import's report (`data-report`).
document.querySelectorAll("form[data-upload]").forEach(function (form) {
  var status = form.querySelector(".upload-status");
  var say = function (text) { status.textContent = text; };
  var report = function (to, b) {
    to.hidden = false;
    to.textContent = "";
    to.className = "card";
    var head = document.createElement("p");
    head.textContent = "文件 " + b.file + " 共 " + b.rows + " 行：登记 " + b.added.length + " 个系统，未导入 " + b.refused.length + " 行。";
    to.appendChild(head);
    if (b.refused.length) {
      var ul = document.createElement("ul");
      b.refused.forEach(function (x) {
        var li = document.createElement("li");
        li.textContent = "第 " + x.row + " 行" + (x.column ? "「" + x.column + "」" : "") + (x.value ? "（" + x.value + "）" : "") + "：" + x.reason;
        ul.appendChild(li);
      });
      to.appendChild(ul);
    }
    if (b.ignored_columns.length) {
      var ig = document.createElement("p");
      ig.className = "muted";
      ig.textContent = "未读取的列：" + b.ignored_columns.join("、");
      to.appendChild(ig);
    }
    var more = document.createElement("a");
    more.href = form.dataset.next;
    more.textContent = "刷新清单";
    to.appendChild(more);
  };
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    var q = new URLSearchParams({ name: file.name });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.type !== "file" && el.tagName !== "BUTTON") q.set(el.name, el.value);
    });
    say("上传中…");
    fetch(form.dataset.upload + "?" + q.toString(), {
      method: "POST", credentials: "same-origin", body: file,
      headers: { "x-csrf-token": form.dataset.csrf, "content-type": "application/octet-stream" }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) {
          var why = (b.fields || []).map(function (f) { return f.field + "：" + f.message; }).join("；");
          say("上传失败：" + (why || b.message || r.status));
          return;
        }
        var to = form.dataset.report && document.getElementById(form.dataset.report);
        if (to) { say("已导入"); report(to, b); } else { window.location = form.dataset.next; }
      });
    }).catch(function () { say("上传中断，请重试"); });
  });
});
