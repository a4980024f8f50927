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
