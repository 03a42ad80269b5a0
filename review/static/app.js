// matrixcoder review: keyboard-first reviewing. Hand-written, no dependencies.
// Server-rendered HTML comes only from our own escaped templates; everything this script
// builds from data (tooltips, the add-code list) is set with textContent.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const codebookNode = document.getElementById("codebook");
  const codebook = codebookNode ? JSON.parse(codebookNode.textContent) : [];
  const codeInfo = new Map(codebook.map((c) => [c.id, c]));
  const units = Array.from(document.querySelectorAll(".unit"));
  const isQueue = document.body.classList.contains("page-queue");
  let current = -1;
  let chipIndex = 0;

  // ---- server calls ------------------------------------------------------------------
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: "the server gave no JSON (" + response.status + ")" }; }
    if (!response.ok && response.status !== 409) { flash(data.error || ("request failed: " + response.status)); throw new Error(data.error); }
    return { status: response.status, data };
  }

  function flash(message) {
    let box = document.getElementById("flash");
    if (!box) {
      box = document.createElement("div");
      box.id = "flash";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    box.textContent = message;
    box.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  // ---- units and chips ---------------------------------------------------------------
  function chipsOf(unit) { return Array.from(unit.querySelectorAll(".chip")); }

  function select(index, scroll, quiet) {
    if (!units.length) return;
    index = Math.max(0, Math.min(units.length - 1, index));
    if (current >= 0 && units[current]) units[current].classList.remove("current");
    current = index;
    const unit = units[current];
    unit.classList.add("current");
    const chips = chipsOf(unit);
    const pending = chips.findIndex((c) => c.dataset.status === "pending");
    focusChip(pending >= 0 ? pending : 0, quiet);
    if (scroll !== false) unit.scrollIntoView({ block: "center", behavior: "instant" });
    if (history.replaceState && !isQueue) history.replaceState(null, "", "#u-" + unit.dataset.unit);
  }

  function focusChip(index, quiet) {
    const unit = units[current];
    if (!unit) return;
    const chips = chipsOf(unit);
    document.querySelectorAll(".chip.focused").forEach((c) => c.classList.remove("focused"));
    if (!chips.length) { chipIndex = 0; hideTip(); return; }
    chipIndex = Math.max(0, Math.min(chips.length - 1, index));
    chips[chipIndex].classList.add("focused");
    if (quiet) hideTip(); else showTip(chips[chipIndex]);
  }

  async function decide(unit, action, code) {
    const { data } = await post("/api/decide", { unit_id: unit.dataset.unit, action, code: code || null });
    const box = unit.querySelector(".chips");
    box.innerHTML = data.chips; // rendered by our autoescaping template
    unit.classList.toggle("reviewed", !!data.reviewed);
    const counts = document.getElementById("doc-counts");
    if (counts && data.counts) {
      const c = data.counts;
      counts.textContent = `${c.reviewed}/${c.units} units reviewed · ${c.accepted} accepted · ${c.rejected} rejected · ${c.added} added`;
    }
    if (units[current] === unit) {
      const chips = chipsOf(unit);
      const next = chips.findIndex((c) => c.dataset.status === "pending");
      focusChip(next >= 0 ? next : Math.min(chipIndex, chips.length - 1));
    }
    return data;
  }

  function focusedCode() {
    const unit = units[current];
    if (!unit) return null;
    const chip = chipsOf(unit)[chipIndex];
    return chip ? chip.dataset.code : null;
  }

  // ---- the add-code dialog -------------------------------------------------------------
  const dialog = document.getElementById("add-dialog");
  const search = document.getElementById("add-search");
  const list = document.getElementById("add-list");
  let listItems = [];
  let listIndex = 0;
  let addTarget = null;

  function renderList() {
    const query = search.value.trim().toLowerCase();
    list.textContent = "";
    listItems = [];
    let group = null;
    for (const code of codebook) {
      const hay = (code.id + " " + code.name).toLowerCase();
      if (query && !query.split(/\s+/).every((word) => hay.includes(word))) continue;
      if (group !== code.dimension_name) {
        group = code.dimension_name;
        const heading = document.createElement("div");
        heading.className = "group";
        heading.textContent = group;
        list.appendChild(heading);
      }
      const item = document.createElement("div");
      item.className = "option";
      item.setAttribute("role", "option");
      item.dataset.code = code.id;
      const id = document.createElement("b");
      id.textContent = code.id;
      item.appendChild(id);
      item.appendChild(document.createTextNode(" " + code.name));
      item.addEventListener("click", () => chooseAdd(code.id));
      list.appendChild(item);
      listItems.push(item);
    }
    listIndex = 0;
    markList();
  }

  function markList() {
    listItems.forEach((item, i) => item.classList.toggle("active", i === listIndex));
    if (listItems[listIndex]) {
      listItems[listIndex].scrollIntoView({ block: "nearest" });
      showTip(listItems[listIndex]);
    }
  }

  function openAdd() {
    if (!dialog || !units[current]) return;
    addTarget = units[current];
    search.value = "";
    renderList();
    dialog.showModal();
    search.focus();
  }

  async function chooseAdd(code) {
    dialog.close();
    hideTip();
    if (addTarget && code) await decide(addTarget, "add", code);
  }

  if (dialog) {
    search.addEventListener("input", renderList);
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") { listIndex = Math.min(listItems.length - 1, listIndex + 1); markList(); event.preventDefault(); }
      else if (event.key === "ArrowUp") { listIndex = Math.max(0, listIndex - 1); markList(); event.preventDefault(); }
      else if (event.key === "Enter") { event.preventDefault(); if (listItems[listIndex]) chooseAdd(listItems[listIndex].dataset.code); }
      event.stopPropagation();
    });
    dialog.addEventListener("close", hideTip);
  }

  // ---- tooltips: definition and rulings ------------------------------------------------
  const tip = document.getElementById("tip");

  function showTip(element) {
    const info = codeInfo.get(element && element.dataset.code);
    if (!tip || !info) return;
    tip.textContent = "";
    const title = document.createElement("div");
    title.className = "tip-title";
    title.textContent = `${info.id} · ${info.name} (${info.dimension_name})`;
    const definition = document.createElement("p");
    definition.textContent = info.indicator;
    tip.append(title, definition);
    for (const rule of info.rules) {
      const p = document.createElement("p");
      p.className = "rule";
      const head = document.createElement("b");
      head.textContent = rule.heading + ": ";
      p.append(head, document.createTextNode(rule.text));
      tip.appendChild(p);
    }
    const box = element.getBoundingClientRect();
    tip.hidden = false;
    const top = box.bottom + 6 + tip.offsetHeight > window.innerHeight ? Math.max(4, box.top - tip.offsetHeight - 6) : box.bottom + 6;
    tip.style.top = `${top + window.scrollY}px`;
    tip.style.left = `${Math.max(4, Math.min(window.innerWidth - tip.offsetWidth - 8, box.left)) + window.scrollX}px`;
  }

  function hideTip() { if (tip) tip.hidden = true; }

  document.addEventListener("mouseover", (event) => {
    const target = event.target.closest("[data-code]");
    if (target) showTip(target);
  });
  document.addEventListener("mouseout", (event) => {
    const target = event.target.closest("[data-code]");
    if (target && !target.contains(event.relatedTarget)) hideTip();
  });

  // ---- clicks ----------------------------------------------------------------------------
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-act]");
    if (button) {
      const unit = button.closest(".unit");
      if (!unit) return;
      select(units.indexOf(unit), false, true);
      const chip = button.closest(".chip");
      const action = button.dataset.act;
      if (action === "add") openAdd();
      else await decide(unit, action, chip ? chip.dataset.code : null);
      return;
    }
    const docCode = event.target.closest(".doc-code");
    if (docCode) {
      const ids = new Set(docCode.dataset.evidence.split(" "));
      const on = !docCode.classList.contains("on");
      document.querySelectorAll(".doc-code.on").forEach((b) => b.classList.remove("on"));
      units.forEach((u) => u.classList.toggle("spotlight", on && ids.has(u.dataset.unit)));
      docCode.classList.toggle("on", on);
      const first = units.find((u) => on && ids.has(u.dataset.unit));
      if (first) select(units.indexOf(first));
      return;
    }
    const unit = event.target.closest(".unit");
    if (unit && units.includes(unit)) select(units.indexOf(unit), false, true);
  });

  // ---- the queue -------------------------------------------------------------------------
  async function queueNext() { window.location.assign("/queue"); }
  async function queueSkip() {
    if (!units[0]) return;
    await post("/api/skip", { unit_id: units[0].dataset.unit });
    queueNext();
  }
  const nextButton = document.getElementById("queue-next");
  if (nextButton) nextButton.addEventListener("click", queueNext);
  const skipButton = document.getElementById("queue-skip");
  if (skipButton) skipButton.addEventListener("click", queueSkip);

  // ---- retraining ----------------------------------------------------------------------
  const job = document.getElementById("job");
  const retrainButton = document.getElementById("retrain");

  function showJob(state) {
    job.dataset.state = state.state;
    if (state.state === "running") job.textContent = `retraining (${Math.round(state.elapsed)} s): ${state.stage}`;
    else if (state.state === "done") job.textContent = `${state.stage}. Reload for the new suggestions.`;
    else if (state.state === "failed") job.textContent = `retraining failed: ${state.error}`;
    else job.textContent = "";
    retrainButton.disabled = state.state === "running";
  }

  async function poll() {
    const response = await fetch("/api/retrain", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const state = await response.json();
    showJob(state);
    if (state.state === "running") setTimeout(poll, 1000);
  }

  if (retrainButton) {
    retrainButton.addEventListener("click", async () => {
      const { data } = await post("/api/retrain", {});
      showJob(data);
      if (data.state === "running") setTimeout(poll, 1000);
    });
    if (job.dataset.state === "running") setTimeout(poll, 1000);
  }

  // ---- keys ------------------------------------------------------------------------------
  const docHead = document.querySelector(".doc-head");

  document.addEventListener("keydown", async (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (dialog && dialog.open) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") return;
    const unit = units[current];
    const key = event.key;
    let handled = true;
    if (key === "j" || key === "ArrowDown") select(current + 1);
    else if (key === "k" || key === "ArrowUp") select(current - 1);
    else if (key === "ArrowRight" || key === "l") focusChip(chipIndex + 1);
    else if (key === "ArrowLeft" || key === "h") focusChip(chipIndex - 1);
    else if (key === "a" && unit) { const code = focusedCode(); if (code) await decide(unit, "accept", code); else flash("no code to accept here: / adds one"); }
    else if (key === "r" && unit) { const code = focusedCode(); if (code) await decide(unit, "reject", code); else flash("no code to reject here"); }
    else if (key === "n" && unit) await decide(unit, "none");
    else if (key === "u" && unit) await decide(unit, "undo");
    else if (key === "/" && unit) openAdd();
    else if (key === "]" && docHead && docHead.dataset.next) window.location.assign(docHead.dataset.next);
    else if (key === "[" && docHead && docHead.dataset.previous) window.location.assign(docHead.dataset.previous);
    else if (isQueue && key === "Enter") queueNext();
    else if (isQueue && key === "s") queueSkip();
    else if (key === "Escape") hideTip();
    else handled = false;
    if (handled) event.preventDefault();
  });

  // Start on the unit named in the address (#u-ID), else the first one.
  if (units.length) {
    const wanted = decodeURIComponent(window.location.hash.replace(/^#u-/, ""));
    const found = units.findIndex((u) => u.dataset.unit === wanted);
    select(found >= 0 ? found : 0, found >= 0, true);
  }
  document.body.dataset.ready = "1";
})();
