// Portcullis approvals console. Builds the page from the admin API with
// textContent only (no HTML from data), sends the CSRF token on POSTs.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var mode = document.querySelector('meta[name="auth-mode"]').content;
  var focus = (location.pathname.match(/^\/approvals\/(apr_[a-z2-7]+)$/) || [])[1] || "";

  function identity() {
    if (mode === "mtls") return "client-certificate";
    return mode === "jwt" ? sessionStorage.getItem("portcullis-token") || "" : localStorage.getItem("portcullis-approver") || "";
  }
  function headers(json) {
    var h = { "Accept": "application/json" };
    if (json) { h["Content-Type"] = "application/json"; h["X-CSRF-Token"] = csrf; }
    var id = identity();
    if (mode === "jwt") { if (id) h["Authorization"] = "Bearer " + id; }
    else if (mode === "insecure-dev" && id) { h["X-Portcullis-Approver"] = id; }
    return h;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function showError(msg) { document.getElementById("error").textContent = msg || ""; }
  function api(method, path, body) {
    return fetch(path, { method: method, headers: headers(!!body), body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
          return j;
        });
      });
  }
  function when(s) { return s ? new Date(s).toLocaleString() : ""; }

  function card(a) {
    var c = el("div", "card");
    c.id = "card-" + a.id;
    c.setAttribute("data-id", a.id);
    c.appendChild(el("h3", "", a.tool + " on " + a.server));
    var m = el("div", "meta");
    m.appendChild(document.createTextNode("agent " + a.principal + " · " + a.method + " · policy " + a.policy_version + (a.rule ? " · rule " + a.rule : "") +
      " · expires " + when(a.expires) + " · " + (a.votes ? a.votes.filter(function (v) { return v.approve; }).length : 0) + " of " + a.quorum + " approvals · " + a.id + " "));
    var risk = el("span", a.score >= 70 ? "risk high" : "risk", "risk " + a.score);
    risk.id = "risk-" + a.id;
    m.appendChild(risk);
    c.appendChild(m);
    if (a.factors && a.factors.length) {
      var ul = el("ul", "factors");
      a.factors.forEach(function (f) {
        if (f.score > 0) ul.appendChild(el("li", "", f.name + " " + f.score + (f.weight ? " ×" + f.weight : "") + (f.reason ? ": " + f.reason : "")));
      });
      c.appendChild(ul);
    }
    c.appendChild(el("div", "meta", "Arguments (redacted view; digest " + a.args_digest + ")"));
    var pre = el("pre", "", a.arguments === undefined ? "(none)" : JSON.stringify(a.arguments, null, 2));
    pre.id = "args-" + a.id;
    c.appendChild(pre);
    var act = el("div", "actions");
    var comment = el("input");
    comment.placeholder = "comment (optional)";
    comment.id = "comment-" + a.id;
    var ok = el("button", "approve", "Approve");
    ok.id = "approve-" + a.id;
    var no = el("button", "reject", "Reject");
    no.id = "reject-" + a.id;
    ok.disabled = no.disabled = !a.can_decide;
    function decide(verb) {
      ok.disabled = no.disabled = true;
      api("POST", "/api/approvals/" + encodeURIComponent(a.id) + "/" + verb, { comment: comment.value })
        .then(function () { showError(""); refresh(); })
        .catch(function (e) { showError(e.message); ok.disabled = no.disabled = false; });
    }
    ok.addEventListener("click", function () { decide("approve"); });
    no.addEventListener("click", function () { decide("reject"); });
    act.appendChild(comment);
    act.appendChild(ok);
    act.appendChild(no);
    c.appendChild(act);
    return c;
  }

  function render(list) {
    var pending = document.getElementById("pending");
    var body = document.querySelector("#recent tbody");
    pending.textContent = "";
    body.textContent = "";
    var p = list.filter(function (a) { return a.status === "pending"; });
    if (focus) p.sort(function (a, b) { return (b.id === focus) - (a.id === focus); });
    if (!p.length) pending.appendChild(el("p", "muted", "Nothing is waiting for approval."));
    p.forEach(function (a) { pending.appendChild(card(a)); });
    list.filter(function (a) { return a.status !== "pending"; }).forEach(function (a) {
      var tr = el("tr");
      tr.id = "row-" + a.id;
      var by = (a.votes || []).map(function (v) { return (v.approve ? "✔ " : "✘ ") + v.by; }).join(", ");
      [when(a.decided || a.created), a.status, a.tool, a.server, a.principal, String(a.score), by, a.id].forEach(function (t, i) {
        tr.appendChild(el("td", i === 1 ? "s-" + a.status : "", t));
      });
      body.appendChild(tr);
    });
  }

  function refresh() {
    if (!identity()) { showError(mode === "jwt" ? "Paste your approver token to see approvals." : "Enter your name to see approvals."); return; }
    api("GET", "/api/approvals?limit=200").then(function (j) {
      document.getElementById("whoami").textContent = "signed in as " + j.approver;
      render(j.approvals);
      showError("");
    }).catch(function (e) { showError(e.message); });
    api("GET", "/api/approvals/status").then(function (s) {
      document.getElementById("policy-version").textContent = s.policy_version || "(none)";
      var a = s.audit;
      document.getElementById("audit-status").textContent = !a || !a.enabled ? "disabled" :
        (a.valid ? "valid" : "INVALID") + " · " + a.records + " records" + (a.detail ? " · " + a.detail : "");
    }).catch(function () {});
  }

  var save = document.getElementById("save-identity");
  if (save) save.addEventListener("click", function () {
    if (mode === "jwt") sessionStorage.setItem("portcullis-token", document.getElementById("token").value.trim());
    else localStorage.setItem("portcullis-approver", document.getElementById("approver").value.trim());
    refresh();
  });
  var input = document.getElementById(mode === "jwt" ? "token" : "approver");
  if (input && mode !== "jwt") input.value = identity();
  refresh();
  setInterval(refresh, 3000);
})();
