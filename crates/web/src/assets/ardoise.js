// ardoise: makes the till faster; every form also works without this file.
// - a product press adds one unit to the order at once (no round trip);
// - "Clear" empties the order;
// - the card scan and the money forms are sent in the background and the page's main
//   part replaced by the answer, with the focus back in "Card" for the next scan.
(function () {
  "use strict";
  var busy = false;

  function fmt(cents, lang) {
    var s = (cents / 100).toFixed(2);
    return (lang === "fr" ? s.replace(".", ",") : s) + " €";
  }

  function orderBox(form) { return form.querySelector("#order-lines"); }

  function renderOrder(form) {
    var box = orderBox(form);
    if (!box) { return; }
    var lang = document.documentElement.lang;
    var items = form.querySelectorAll("input[name=item]");
    var counts = [], total = 0, known = true;
    items.forEach(function (input) {
      var name = input.value, found = null;
      counts.forEach(function (c) { if (c.name === name) { found = c; } });
      if (found) { found.n += 1; } else { counts.push({ name: name, n: 1 }); }
      var button = form.querySelector("button.product[value=\"" + CSS.escape(name) + "\"]");
      if (button) { total += Number(button.dataset.price); } else { known = false; }
    });
    box.querySelectorAll("ul, p").forEach(function (el) { el.remove(); });
    if (counts.length === 0) {
      var p = document.createElement("p");
      p.className = "hint";
      p.textContent = box.dataset.empty || "";
      box.appendChild(p);
      return;
    }
    var ul = document.createElement("ul");
    counts.forEach(function (c) {
      var li = document.createElement("li");
      li.textContent = c.n + " × " + c.name;
      ul.appendChild(li);
    });
    box.appendChild(ul);
    if (known) {
      // The unit prices only: bundle prices are applied by the server when paying.
      var t = document.createElement("p");
      t.className = "total";
      t.textContent = "≈ " + fmt(total, lang);
      box.appendChild(t);
    }
  }

  function focusCard() {
    var card = document.getElementById("card");
    if (card) { card.focus(); }
  }

  function replaceMain(html, url) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("main");
    var main = document.querySelector("main");
    if (!fresh || !main) { return false; }
    main.replaceWith(fresh);
    if (url) { history.replaceState(null, "", url); }
    setup();
    focusCard();
    return true;
  }

  function send(form, submitter) {
    if (busy) { return; }
    busy = true;
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var method = (form.getAttribute("method") || "get").toUpperCase();
    var url = form.getAttribute("action") || location.pathname;
    var init = { method: method, credentials: "same-origin", redirect: "follow" };
    if (method === "GET") {
      url += "?" + new URLSearchParams(data).toString();
    } else {
      init.body = new URLSearchParams(data);
    }
    fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var finalUrl = response.redirected ? response.url : (method === "GET" ? url : null);
        if (response.redirected && /\/login/.test(response.url)) {
          location.href = response.url;
          return;
        }
        if (!replaceMain(text, finalUrl)) { location.reload(); }
      });
    }).catch(function () {
      // The answer was lost: send the same form (same one-time key) the ordinary way.
      busy = false;
      form.removeAttribute("data-enhance");
      if (submitter) { form.requestSubmit(submitter); } else { form.submit(); }
    }).finally(function () { busy = false; });
  }

  function setup() {
    var till = document.getElementById("till-form");
    if (till) {
      var box = orderBox(till);
      var hint = box && box.querySelector("p.hint");
      if (box && hint) { box.dataset.empty = hint.textContent; }
      if (box && !box.dataset.empty) { box.dataset.empty = ""; }
    }
    document.querySelectorAll("form[data-enhance]").forEach(function (form) {
      if (form.dataset.ready) { return; }
      form.dataset.ready = "1";
      form.addEventListener("submit", function (event) {
        if (!form.hasAttribute("data-enhance")) { return; }
        var submitter = event.submitter;
        event.preventDefault();
        if (submitter && submitter.name === "add") {
          var input = document.createElement("input");
          input.type = "hidden"; input.name = "item"; input.value = submitter.value;
          orderBox(form).appendChild(input);
          renderOrder(form);
          return;
        }
        if (submitter && submitter.name === "action" && submitter.value === "clear") {
          form.querySelectorAll("input[name=item]").forEach(function (i) { i.remove(); });
          renderOrder(form);
          return;
        }
        send(form, submitter);
      });
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-print]");
    if (target) { window.print(); }
  });

  document.addEventListener("keydown", function (event) {
    // F2 or Escape: back to the card field, for the next scan.
    if (event.key === "F2" || (event.key === "Escape" && document.activeElement && document.activeElement.id !== "card")) {
      focusCard();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
}());
