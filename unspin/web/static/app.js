/* unspin's page: plain JavaScript, no build step, no network beyond this server.
 *
 * Flow: the text goes to POST /v1/restore with explain=true; the answer's
 * edits (each with its character span, replacement, confidence and evidence)
 * are drawn as highlights over the text.  Wording suggestions start
 * "pending", page debris (ad slots, "Source link") starts accepted; the
 * restored text is the original with the *accepted* edits applied, so it
 * updates as the reader accepts or rejects them.  When the server has a
 * source index, POST /v1/trace lists the likely sources and
 * GET /v1/sources/{id} feeds the side-by-side view.
 *
 * Offsets from the server are code-point offsets (Python str indices); a
 * JavaScript string counts UTF-16 units, so they are converted (toUnits).
 * Text is always inserted with textContent, never as HTML.
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  const state = {
    text: "",          // the text the edits point into
    units: null,       // code point offset -> UTF-16 offset (null: identical)
    edits: [],         // sorted by start; each gets id, status, choice
    detection: null,
    options: null,     // options sent with the last check
    server: null,      // GET /version
    popoverFor: null,  // edit id the popover shows
    pinned: false,
    trace: null,
    compareId: null,
  };

  const SOURCE_NAMES = {
    phrases: "spinner phrase table",
    moby: "Moby thesaurus",
    table: "extra phrase table",
    tortured: "tortured-phrase list",
  };

  // ------------------------------------------------------------------------
  // Small helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = v;
        else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const pct = (x) => `${Math.round(x * 100)}%`;
  const fmtInt = (n) => n.toLocaleString("en-US");
  const quote = (s) => `“${s.replace(/\n/g, "⏎")}”`;

  function showMessage(text, kind) {
    const box = $("message");
    if (!text) {
      box.hidden = true;
      box.textContent = "";
      return;
    }
    box.className = `message ${kind || "error"}`;
    box.textContent = text;
    box.hidden = false;
  }

  let toastTimer = null;
  function toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 2200);
  }

  function announce(text) {
    $("status").textContent = text;
  }

  // Code-point offsets (from Python) to UTF-16 offsets (for JavaScript).
  function unitMap(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return null;
    const map = [];
    let u = 0;
    for (const ch of text) {
      map.push(u);
      u += ch.length;
    }
    map.push(u);
    return map;
  }
  const toUnits = (cp) => (state.units ? state.units[cp] : cp);

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new Error("The unspin server cannot be reached. Is `unspin serve` still running?");
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      /* not JSON */
    }
    if (!res.ok) {
      const msg = data && data.message ? data.message : `The server answered ${res.status}.`;
      const err = new Error(msg.charAt(0).toUpperCase() + msg.slice(1));
      err.code = data && data.error;
      err.status = res.status;
      throw err;
    }
    return data;
  }

  // ------------------------------------------------------------------------
  // Input

  function maxChars() {
    return state.server ? state.server.limits.max_text_chars : 50000;
  }

  function updateCount() {
    const n = [...$("text").value].length;
    const limit = maxChars();
    const c = $("char-count");
    c.textContent = `${fmtInt(n)} / ${fmtInt(limit)} characters`;
    c.classList.toggle("over", n > limit);
  }

  function readOptions() {
    return {
      fast: $("opt-fast").checked,
      clean_boilerplate: $("opt-clean").checked,
      span_threshold: Number($("opt-span").value),
      doc_threshold: Number($("opt-doc").value),
      restore_threshold: Number($("opt-restore").value),
    };
  }

  function looksLikeHtml(name, text) {
    return /\.html?$/i.test(name) || /^\s*<(!doctype\s+html|html)[\s>]/i.test(text);
  }

  async function openFile(file) {
    if (!file) return;
    showMessage("");
    if (!/\.(txt|html?|text)$/i.test(file.name) && file.type && !/^text\//.test(file.type)) {
      showMessage(`${file.name} is not a .txt or .html file.`);
      return;
    }
    let text;
    try {
      text = await file.text();
    } catch (e) {
      showMessage(`${file.name} could not be read.`);
      return;
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.includes("\uFFFD") && !text.trim()) {
      showMessage(`${file.name} is not UTF-8 text.`);
      return;
    }
    if (looksLikeHtml(file.name, text)) {
      try {
        text = (await api("POST", "/v1/extract", { html: text })).text;
      } catch (e) {
        showMessage(`${file.name}: ${e.message}`);
        return;
      }
    }
    setEditing(true);
    $("text").value = text;
    updateCount();
    toast(`Opened ${file.name}`);
    $("text").focus();
  }

  function setEditing(editing) {
    $("input-body").hidden = !editing;
    $("edit-text").hidden = editing;
    $("input-summary").hidden = editing;
    $("input-card").classList.toggle("collapsed", !editing);
  }

  function setBusy(busy) {
    const b = $("check");
    b.disabled = busy;
    b.classList.toggle("busy", busy);
    b.querySelector(".label").textContent = busy ? "Checking…" : "Check text";
  }

  let busyTimer = null;

  async function check() {
    const text = $("text").value;
    showMessage("");
    if (!text.trim()) {
      showMessage("There is no text to check: paste an article or open a .txt or .html file.");
      $("text").focus();
      return;
    }
    const n = [...text].length;
    if (n > maxChars()) {
      showMessage(`The text has ${fmtInt(n)} characters; the limit is ${fmtInt(maxChars())}. Check it in parts, or use \`unspin scan\` for large corpora.`);
      return;
    }
    const options = readOptions();
    setBusy(true);
    const t0 = performance.now();
    announce("Checking the text…");
    busyTimer = setInterval(() => {
      const s = Math.round((performance.now() - t0) / 1000);
      $("check").querySelector(".label").textContent = `Checking… ${s} s`;
    }, 1000);
    try {
      const r = await api("POST", "/v1/restore", { text, explain: true, ...options });
      showResults(text, r, options);
      announce(summaryLine());
      if (state.server && state.server.trace) runTrace(text);
    } catch (e) {
      showMessage(e.message);
      announce(e.message);
    } finally {
      clearInterval(busyTimer);
      setBusy(false);
    }
  }

  // ------------------------------------------------------------------------
  // Results

  function showResults(text, r, options) {
    state.text = text;
    state.units = unitMap(text);
    state.options = options;
    state.detection = r.detection;
    state.edits = (r.edits || [])
      .slice()
      .sort((a, b) => a.start - b.start)
      .map((e, i) => ({ ...e, id: i, status: initialStatus(e), choice: e.after }));
    state.trace = null;
    state.compareId = null;
    hidePopover();
    $("results").hidden = false;
    $("results").classList.remove("stale");
    $("intro").hidden = true;
    $("sources-card").hidden = true;
    const words = r.detection.words;
    $("input-summary").textContent = `${fmtInt(words)} words checked`;
    setEditing(false);
    renderVerdict();
    renderDoc();
    renderRestored();
    $("verdict").scrollIntoView({ block: "start", behavior: "smooth" });
  }

  // Page debris (ad slots, "Source link") is certain: removed from the
  // start, but can be put back.  Wording suggestions wait for the reader.
  function initialStatus(e) {
    return e.kind === "boilerplate" ? "accepted" : "pending";
  }

  function substitutions() {
    return state.edits.filter((e) => e.kind === "substitution");
  }

  function summaryLine() {
    const d = state.detection;
    if (d.language !== "en") return "Not English: nothing was checked.";
    const n = substitutions().length;
    return `${d.is_spun ? "Likely spun" : "Probably not spun"}: probability ${pct(d.spun_probability)}, ${n} suggestion${n === 1 ? "" : "s"}.`;
  }

  function renderVerdict() {
    const d = state.detection;
    const card = $("verdict");
    const english = d.language === "en";
    card.classList.remove("spun", "clean", "other");
    const label = $("verdict-label");
    const sub = $("verdict-sub");
    const nSubs = substitutions().length;
    const nBoiler = state.edits.length - nSubs;
    if (!english) {
      card.classList.add("other");
      label.textContent = "Not English";
      sub.textContent = "unspin only checks English text, so nothing was flagged.";
    } else if (d.is_spun) {
      card.classList.add("spun");
      label.textContent = "Likely spun";
      sub.textContent = "The wording shows a synonym spinner's traces: review the highlighted spans.";
    } else {
      card.classList.add("clean");
      label.textContent = "Probably not spun";
      sub.textContent = nSubs
        ? "A few spans look odd, but not enough to call the text spun."
        : "No sign of a synonym spinner.";
    }
    $("verdict-meter").hidden = !english;
    const p = d.spun_probability;
    $("meter-value").textContent = pct(p);
    $("meter-fill").style.setProperty("--p", String(p));
    $("meter-tick").style.setProperty("--p", String(state.options.doc_threshold));
    $("meter").setAttribute("aria-label", `Probability the text is spun: ${pct(p)} (threshold ${pct(state.options.doc_threshold)})`);
    const facts = $("facts");
    facts.replaceChildren();
    const fact = (k, v) => facts.append(el("div", { class: "fact" }, el("dt", null, k), el("dd", null, v)));
    fact("Words", fmtInt(d.words));
    fact("Suggestions", String(nSubs));
    fact("Page debris", String(nBoiler));
    fact("Mode", state.options.fast ? "fast (no language model)" : "language model");
  }

  function confClass(c) {
    return c >= 0.8 ? "conf-hi" : c >= 0.6 ? "conf-mid" : "conf-lo";
  }

  function editLabel(e) {
    const what = e.kind === "boilerplate"
      ? `Page debris ${quote(e.before.trim())}, remove`
      : `${quote(e.before)} may be spun from ${quote(e.choice)}, confidence ${pct(e.confidence)}`;
    return `${what}; ${e.status}`;
  }

  function renderDoc() {
    const doc = $("doc");
    doc.replaceChildren();
    const t = state.text;
    let pos = 0;
    const frag = document.createDocumentFragment();
    for (const e of state.edits) {
      const s = toUnits(e.start);
      const end = toUnits(e.end);
      if (s > pos) frag.append(t.slice(pos, s));
      const mark = el("mark", {
        class: `span ${e.kind === "boilerplate" ? "boiler" : confClass(e.confidence)} ${e.status}`,
        tabindex: "0",
        role: "button",
        "data-id": e.id,
        "aria-label": editLabel(e),
        "aria-haspopup": "dialog",
      });
      mark.style.setProperty("--conf", String(e.confidence));
      mark.textContent = t.slice(s, end);
      if (e.status === "accepted" && e.kind === "substitution") {
        mark.append(el("span", { class: "inline-choice", "aria-hidden": "true", text: e.choice }));
      }
      frag.append(mark);
      pos = end;
    }
    frag.append(t.slice(pos));
    doc.append(frag);
    const empty = $("spans-empty");
    const english = state.detection.language === "en";
    if (!state.edits.length) {
      empty.textContent = english
        ? "Nothing to change: no span reached the span threshold."
        : "Not English, so no spans were checked.";
      empty.hidden = false;
    } else {
      empty.hidden = true;
    }
    $("accept-all").disabled = !state.edits.length;
    $("reject-all").disabled = !state.edits.length;
  }

  function updateMark(e) {
    const m = $("doc").querySelector(`mark[data-id="${e.id}"]`);
    if (!m) return;
    m.classList.remove("pending", "accepted", "rejected");
    m.classList.add(e.status);
    m.setAttribute("aria-label", editLabel(e));
    const old = m.querySelector(".inline-choice");
    if (old) old.remove();
    if (e.status === "accepted" && e.kind === "substitution") {
      m.append(el("span", { class: "inline-choice", "aria-hidden": "true", text: e.choice }));
    }
  }

  function accepted() {
    return state.edits.filter((e) => e.status === "accepted");
  }

  function restoredText() {
    const t = state.text;
    let out = "";
    let pos = 0;
    for (const e of accepted()) {
      out += t.slice(pos, toUnits(e.start)) + e.choice;
      pos = toUnits(e.end);
    }
    return out + t.slice(pos);
  }

  function renderRestored() {
    const t = state.text;
    const restored = $("restored");
    const diff = $("diff");
    const rf = document.createDocumentFragment();
    const df = document.createDocumentFragment();
    let pos = 0;
    for (const e of accepted()) {
      const s = toUnits(e.start);
      rf.append(t.slice(pos, s));
      df.append(t.slice(pos, s));
      if (e.choice) rf.append(el("span", { class: "changed", text: e.choice }));
      df.append(el("del", { class: e.kind === "boilerplate" ? "boiler" : null, text: t.slice(s, toUnits(e.end)) }));
      if (e.choice) df.append(el("ins", { text: e.choice }));
      pos = toUnits(e.end);
    }
    rf.append(t.slice(pos));
    df.append(t.slice(pos));
    restored.replaceChildren(rf);
    diff.replaceChildren(df);
    const subs = substitutions();
    const n = subs.filter((e) => e.status === "accepted").length;
    const debris = state.edits.length - subs.length;
    const removed = accepted().length - n;
    const parts = [];
    if (subs.length) {
      parts.push(`${n} of ${subs.length} suggestion${subs.length === 1 ? "" : "s"} accepted${n < subs.length ? " (pending ones are not applied)" : ""}`);
    }
    if (debris) parts.push(`page debris ${removed === debris ? "removed" : `removed ${removed} of ${debris}`}`);
    $("accept-count").textContent = parts.length ? `${parts.join("; ")}.` : "Nothing to change.";
  }

  function setStatus(e, status, choice) {
    e.status = status;
    if (choice !== undefined) e.choice = choice;
    updateMark(e);
    renderRestored();
    if (state.popoverFor === e.id) fillPopover(e);
  }

  function acceptAll() {
    for (const e of state.edits) if (e.status !== "accepted") { e.status = "accepted"; }
    renderDoc();
    renderRestored();
    if (state.popoverFor !== null) fillPopover(state.edits[state.popoverFor]);
    announce(`All ${state.edits.length} suggestions accepted.`);
  }

  function resetAll() {
    for (const e of state.edits) { e.status = initialStatus(e); e.choice = e.after; }
    renderDoc();
    renderRestored();
    hidePopover();
    announce("All suggestions are pending again.");
  }

  // ------------------------------------------------------------------------
  // The popover: suggestion, alternatives, evidence, accept / reject

  function fmtNum(x, digits) {
    if (typeof x !== "number") return String(x);
    const s = x.toFixed(digits === undefined ? 2 : digits);
    return x > 0 ? `+${s}` : s;
  }

  function fillPopover(e) {
    const title = $("pop-title");
    title.replaceChildren();
    if (e.kind === "boilerplate") {
      title.append(el("span", { class: "pop-kind", text: "Page debris" }), " ", el("span", { class: "pop-before", text: quote(e.before.trim()) }));
    } else {
      title.append(
        el("span", { class: "pop-before", text: e.before }),
        el("span", { class: "arrow", "aria-label": "probably replaced", text: " → " }),
        el("span", { class: "pop-after", text: e.choice || "(removed)" })
      );
    }
    $("pop-conf-label").textContent = e.kind === "boilerplate" ? "Certain" : `Confidence ${pct(e.confidence)}`;
    $("pop-conf-fill").style.setProperty("--p", String(e.confidence));

    const alts = $("pop-alts");
    alts.replaceChildren();
    const ev = e.evidence || {};
    const options = e.kind === "substitution" ? [e.after, ...(ev.alternatives || [])] : [];
    if (options.length > 1) {
      alts.append(el("span", { class: "muted alt-label", text: "Choose the original:" }));
      for (const alt of options) {
        const chip = el("button", {
          type: "button",
          class: `chip ${alt === e.choice ? "chosen" : ""}`,
          "aria-pressed": alt === e.choice ? "true" : "false",
          text: alt,
          onclick: () => setStatus(e, "accepted", alt),
        });
        alts.append(chip);
      }
      alts.hidden = false;
    } else if (e.kind === "substitution") {
      alts.append(el("span", { class: "muted", text: "No other candidate was close." }));
      alts.hidden = false;
    } else {
      alts.hidden = true;
    }

    const dl = $("pop-evidence");
    dl.replaceChildren();
    const row = (k, v, hint) => dl.append(el("div", { class: "ev-row" }, el("dt", null, k), el("dd", { title: hint || null }, v)));
    if (e.kind === "boilerplate") {
      row("Rule", ev.rule || ev.pattern || "boilerplate");
    } else {
      const src = String(ev.source || "");
      const base = src.split(":")[0];
      row("Lexicon", SOURCE_NAMES[base] ? `${SOURCE_NAMES[base]}${src.includes(":") ? ` (${src.split(":").slice(1).join(":")})` : ""}` : src || "—");
      if (ev.lexicon) row("Pair", ev.lexicon);
      if (typeof ev.lm_gain === "number") row("LM gain", `${fmtNum(ev.lm_gain)} nats`, "How much more likely the language model finds the sentence with the suggestion");
      if (typeof ev.ngram_gain === "number") row("N-gram gain", `${fmtNum(ev.ngram_gain)}`, "How much better the suggestion fits its neighbours by word-pair counts");
      if (typeof ev.channel === "number") row("Channel", fmtNum(ev.channel), "How readily a spinner turns the suggestion into this wording (log odds)");
      if (typeof ev.score === "number") row("Score", fmtNum(ev.score), "Gain plus channel: the decision score");
    }
    const badge = $("pop-state");
    badge.textContent = e.status === "pending" ? "Pending" : e.status === "accepted" ? "Accepted" : "Rejected";
    badge.className = `state-badge ${e.status}`;
    const hadFocus = document.activeElement;
    $("pop-accept").disabled = e.status === "accepted" && e.choice === e.after;
    $("pop-reject").disabled = e.status === "rejected";
    // A button that just became disabled drops the focus: keep it in the popover.
    if (hadFocus && hadFocus.disabled && hadFocus.closest("#popover")) {
      (hadFocus.id === "pop-accept" ? $("pop-reject") : $("pop-accept")).focus();
    }
    $("popover").setAttribute(
      "aria-label",
      e.kind === "boilerplate"
        ? `Page debris ${quote(e.before.trim())}`
        : `${quote(e.before)}, probably replaced ${quote(e.choice)}; ${badge.textContent}`
    );
  }

  function positionPopover(mark) {
    const pop = $("popover");
    if (window.matchMedia("(max-width: 640px)").matches) {
      pop.style.removeProperty("--top");
      pop.style.removeProperty("--left");
      pop.classList.add("sheet");
      return;
    }
    pop.classList.remove("sheet");
    const r = mark.getClientRects()[0] || mark.getBoundingClientRect();
    const pw = pop.offsetWidth || 340;
    const ph = pop.offsetHeight || 220;
    let left = r.left + window.scrollX;
    left = Math.max(8 + window.scrollX, Math.min(left, window.scrollX + document.documentElement.clientWidth - pw - 8));
    let top = r.bottom + window.scrollY + 8;
    if (r.bottom + ph + 16 > window.innerHeight && r.top - ph - 8 > 0) top = r.top + window.scrollY - ph - 8;
    pop.style.setProperty("--top", `${top}px`);
    pop.style.setProperty("--left", `${left}px`);
  }

  function showPopover(mark, pin) {
    const id = Number(mark.dataset.id);
    const e = state.edits[id];
    if (!e) return;
    state.popoverFor = id;
    state.pinned = state.pinned || !!pin;
    document.querySelectorAll("#doc mark.open").forEach((m) => m.classList.remove("open"));
    mark.classList.add("open");
    mark.setAttribute("aria-expanded", "true");
    fillPopover(e);
    const pop = $("popover");
    pop.hidden = false;
    positionPopover(mark);
  }

  function hidePopover() {
    const pop = $("popover");
    pop.hidden = true;
    state.pinned = false;
    const m = currentMark();
    if (m) {
      m.classList.remove("open");
      m.setAttribute("aria-expanded", "false");
    }
    state.popoverFor = null;
  }

  function currentMark() {
    return state.popoverFor === null ? null : $("doc").querySelector(`mark[data-id="${state.popoverFor}"]`);
  }

  // Give a span the focus without opening its popover (after Escape or Close).
  let quietFocus = false;
  function focusQuietly(mark) {
    quietFocus = true;
    try {
      mark.focus();
    } finally {
      quietFocus = false;
    }
  }

  function marks() {
    return [...$("doc").querySelectorAll("mark.span")];
  }

  function moveFocus(mark, delta) {
    const all = marks();
    const i = all.indexOf(mark);
    const next = all[i + delta];
    if (next) next.focus();
  }

  let hoverTimer = null;

  function wireDoc() {
    const doc = $("doc");
    doc.addEventListener("mouseover", (ev) => {
      const m = ev.target.closest("mark.span");
      if (!m || state.pinned) return;
      clearTimeout(hoverTimer);
      hoverTimer = setTimeout(() => showPopover(m, false), 120);
    });
    doc.addEventListener("mouseout", (ev) => {
      const m = ev.target.closest("mark.span");
      if (!m || state.pinned) return;
      clearTimeout(hoverTimer);
      hoverTimer = setTimeout(() => {
        if (!state.pinned && !$("popover").matches(":hover")) hidePopover();
      }, 250);
    });
    doc.addEventListener("click", (ev) => {
      const m = ev.target.closest("mark.span");
      if (!m) return;
      clearTimeout(hoverTimer);
      state.pinned = false;
      showPopover(m, true);
    });
    doc.addEventListener("focusin", (ev) => {
      const m = ev.target.closest("mark.span");
      if (m && !quietFocus) showPopover(m, state.pinned);
    });
    doc.addEventListener("keydown", (ev) => {
      const m = ev.target.closest("mark.span");
      if (!m || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      const e = state.edits[Number(m.dataset.id)];
      const key = ev.key.toLowerCase();
      if (key === "a") {
        ev.preventDefault();
        setStatus(e, "accepted");
        announce(`Accepted: ${e.before} → ${e.choice}`);
      } else if (key === "r") {
        ev.preventDefault();
        setStatus(e, "rejected");
        announce(`Rejected: kept ${e.before}`);
      } else if (key === "enter" || key === " ") {
        ev.preventDefault();
        showPopover(m, true);
        $("pop-accept").disabled ? $("pop-reject").focus() : $("pop-accept").focus();
      } else if (key === "escape") {
        ev.preventDefault();
        hidePopover();
      } else if (key === "arrowright" || key === "arrowdown") {
        ev.preventDefault();
        moveFocus(m, 1);
      } else if (key === "arrowleft" || key === "arrowup") {
        ev.preventDefault();
        moveFocus(m, -1);
      }
    });
    const pop = $("popover");
    pop.addEventListener("mouseleave", () => {
      if (!state.pinned) hoverTimer = setTimeout(hidePopover, 250);
    });
    pop.addEventListener("mouseenter", () => clearTimeout(hoverTimer));
    pop.addEventListener("keydown", (ev) => {
      const e = state.edits[state.popoverFor];
      const key = ev.key.toLowerCase();
      if (key === "escape") {
        ev.preventDefault();
        const m = currentMark();
        hidePopover();
        if (m) focusQuietly(m);
      } else if (e && (key === "a" || key === "r") && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        setStatus(e, key === "a" ? "accepted" : "rejected");
      }
    });
    $("pop-close").addEventListener("click", () => {
      const m = currentMark();
      hidePopover();
      if (m) focusQuietly(m);
    });
    $("pop-accept").addEventListener("click", () => {
      const e = state.edits[state.popoverFor];
      if (e) setStatus(e, "accepted", e.kind === "substitution" && e.status === "accepted" ? e.after : undefined);
    });
    $("pop-reject").addEventListener("click", () => {
      const e = state.edits[state.popoverFor];
      if (e) setStatus(e, "rejected");
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape" || state.popoverFor === null || ev.defaultPrevented) return;
      const m = currentMark();
      const inside = ev.target.closest && ev.target.closest("#popover, #doc");
      hidePopover();
      if (m && (inside || ev.target === document.body)) focusQuietly(m);
    });
    document.addEventListener("click", (ev) => {
      if (state.popoverFor === null) return;
      if (ev.target.closest("#popover") || ev.target.closest("mark.span")) return;
      hidePopover();
    });
    window.addEventListener("resize", () => {
      const m = currentMark();
      if (m) positionPopover(m);
    });
  }

  // ------------------------------------------------------------------------
  // Restored: tabs, copy, download

  function selectTab(which) {
    const text = which === "text";
    $("tab-text").setAttribute("aria-selected", String(text));
    $("tab-diff").setAttribute("aria-selected", String(!text));
    $("tab-text").tabIndex = text ? 0 : -1;
    $("tab-diff").tabIndex = text ? -1 : 0;
    $("restored").hidden = !text;
    $("diff").hidden = text;
  }

  function download(name, content, type) {
    const blob = new Blob([content], { type });
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function copyRestored() {
    const text = restoredText();
    try {
      await navigator.clipboard.writeText(text);
      toast("Restored text copied");
    } catch (e) {
      // Clipboard API refused (permissions): fall back to a selection copy.
      const ta = el("textarea", { class: "visually-hidden" });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand("copy");
      ta.remove();
      toast(ok ? "Restored text copied" : "Copy failed: select the text and copy it by hand");
    }
  }

  function planJson() {
    const edits = accepted().map((e) => ({
      start: e.start,
      end: e.end,
      before: e.before,
      after: e.choice,
      kind: e.kind,
      confidence: e.confidence,
      evidence: e.evidence,
    }));
    return JSON.stringify({ edits }, null, 2) + "\n";
  }

  // ------------------------------------------------------------------------
  // Sources (trace)

  async function runTrace(text) {
    const card = $("sources-card");
    card.hidden = false;
    $("matches").replaceChildren();
    $("compare").hidden = true;
    $("sources-empty").hidden = false;
    $("sources-empty").textContent = "Looking for the source in the index…";
    $("sources-sub").textContent = "";
    try {
      const r = await api("POST", "/v1/trace", { text, top_k: 5 });
      if (state.text !== text) return; // a newer check started
      state.trace = r;
      renderMatches();
    } catch (e) {
      $("sources-empty").textContent = `Tracing failed: ${e.message}`;
    }
  }

  function renderMatches() {
    const r = state.trace;
    const list = $("matches");
    list.replaceChildren();
    const n = state.server && state.server.index_documents;
    $("sources-sub").textContent = n ? `searched ${fmtInt(n)} indexed documents` : "";
    if (!r.matches.length) {
      $("sources-empty").hidden = false;
      $("sources-empty").textContent =
        `No indexed source covers enough of this text${r.best_coverage ? ` (the closest covers ${pct(r.best_coverage)})` : ""}.`;
      return;
    }
    $("sources-empty").hidden = true;
    r.matches.forEach((m, i) => {
      const li = el("li", { class: "match" });
      const main = el("div", { class: "match-main" },
        el("div", { class: "match-id", text: m.source_id }),
        m.url ? el("a", { href: m.url, class: "match-url", target: "_blank", rel: "noreferrer noopener", text: m.url }) : null
      );
      const scores = el("div", { class: "match-scores" },
        el("div", { class: "score-line" }, el("span", { class: "muted", text: "Score " }), el("strong", { text: m.score.toFixed(2) })),
        el("div", { class: "bar", role: "img", "aria-label": `covers ${pct(m.coverage)} of this text` }, el("div", { class: "bar-fill" })),
        el("div", { class: "muted small", text: `covers ${pct(m.coverage)} of this text` })
      );
      scores.querySelector(".bar-fill").style.setProperty("--p", String(m.coverage));
      const btn = el("button", {
        type: "button",
        class: "btn small",
        "aria-pressed": "false",
        text: "Compare",
        onclick: () => openCompare(i),
      });
      li.append(el("span", { class: "rank", text: String(i + 1) }), main, scores, btn);
      list.append(li);
    });
    openCompare(0);
  }

  async function openCompare(i) {
    const m = state.trace.matches[i];
    state.compareId = m.source_id;
    $("matches").querySelectorAll(".match").forEach((li, j) => {
      li.classList.toggle("selected", j === i);
      li.querySelector("button").setAttribute("aria-pressed", String(j === i));
    });
    let src;
    try {
      src = await api("GET", `/v1/sources/${encodeURIComponent(m.source_id)}`);
    } catch (e) {
      $("compare").hidden = false;
      $("cmp-source").textContent = `The source could not be loaded: ${e.message}`;
      return;
    }
    if (state.compareId !== m.source_id) return;
    $("cmp-source-label").textContent = `Source: ${m.source_id}`;
    renderAligned($("cmp-query"), state.text, m.alignment, "query", state.units);
    renderAligned($("cmp-source"), src.text, m.alignment, "source", unitMap(src.text));
    $("compare").hidden = false;
  }

  // Draw ``text`` with its aligned spans, and the substitutions inside them.
  function renderAligned(box, text, spans, side, units) {
    const U = (cp) => (units ? units[cp] : cp);
    const frag = document.createDocumentFragment();
    let pos = 0;
    spans.forEach((sp, k) => {
      const a = U(sp[`${side}_start`]);
      const b = U(sp[`${side}_end`]);
      if (a > pos) frag.append(text.slice(pos, a));
      const block = el("span", { class: `aligned a${k % 2}`, "data-pair": k });
      let p = a;
      sp.substitutions.forEach((sub, j) => {
        const s = U(sub[`${side}_start`]);
        const e = U(sub[`${side}_end`]);
        if (s > p) block.append(text.slice(p, s));
        const other = side === "query" ? sub.source : sub.query;
        const mark = el("mark", {
          class: "sub",
          "data-sub": `${k}-${j}`,
          title: side === "query" ? `source has ${quote(other)}` : `this text has ${quote(other)}`,
        });
        mark.textContent = text.slice(s, e) || "∅";
        if (s === e) mark.classList.add("gap");
        block.append(mark);
        p = Math.max(p, e);
      });
      if (b > p) block.append(text.slice(p, b));
      frag.append(block);
      pos = Math.max(pos, b);
    });
    frag.append(text.slice(pos));
    box.replaceChildren(frag);
  }

  function wireCompare() {
    const link = (ev, on) => {
      const m = ev.target.closest("mark.sub");
      if (!m) return;
      document.querySelectorAll(`#compare mark.sub[data-sub="${m.dataset.sub}"]`).forEach((x) => x.classList.toggle("hot", on));
    };
    for (const id of ["cmp-query", "cmp-source"]) {
      const box = $(id);
      box.addEventListener("mouseover", (ev) => link(ev, true));
      box.addEventListener("mouseout", (ev) => link(ev, false));
      box.addEventListener("click", (ev) => {
        // Bring the counterpart of a clicked passage into view on the other side.
        const m = ev.target.closest("[data-sub], [data-pair]");
        if (!m) return;
        const other = $(id === "cmp-query" ? "cmp-source" : "cmp-query");
        const sel = m.dataset.sub ? `mark.sub[data-sub="${m.dataset.sub}"]` : `[data-pair="${m.dataset.pair}"]`;
        const target = other.querySelector(sel);
        if (target) {
          other.scrollTop = target.offsetTop - other.offsetTop - other.clientHeight / 3;
          target.classList.add("hot");
          setTimeout(() => target.classList.remove("hot"), 1200);
        }
      });
    }
  }

  // ------------------------------------------------------------------------
  // Start-up

  async function loadServerInfo() {
    try {
      state.server = await api("GET", "/version");
    } catch (e) {
      showMessage(e.message);
      return;
    }
    const s = state.server;
    $("footer-version").textContent = `unspin ${s.unspin}`;
    $("opt-fast").checked = !!s.config.fast;
    $("opt-clean").checked = !!s.config.clean_boilerplate;
    $("opt-span").value = s.config.span_threshold;
    $("opt-doc").value = s.config.doc_threshold;
    $("opt-restore").value = s.config.restore_threshold;
    syncOutputs();
    const mode = $("server-mode");
    mode.textContent = s.trace ? `source index: ${fmtInt(s.index_documents || 0)} documents` : "";
    mode.hidden = !s.trace;
    $("intro-trace").hidden = !s.trace;
    updateCount();
    document.body.dataset.ready = "true";
  }

  function syncOutputs() {
    $("opt-span-out").textContent = Number($("opt-span").value).toFixed(2);
    $("opt-doc-out").textContent = Number($("opt-doc").value).toFixed(2);
    $("opt-restore-out").textContent = Number($("opt-restore").value).toFixed(2);
  }

  function init() {
    const ta = $("text");
    ta.addEventListener("input", () => {
      updateCount();
      // Results of an earlier text stay visible, dimmed, until the next check.
      $("results").classList.toggle("stale", !$("results").hidden && ta.value !== state.text);
    });
    ta.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        check();
      }
    });
    ta.addEventListener("dragover", (ev) => { ev.preventDefault(); ta.classList.add("drop"); });
    ta.addEventListener("dragleave", () => ta.classList.remove("drop"));
    ta.addEventListener("drop", (ev) => {
      ta.classList.remove("drop");
      if (ev.dataTransfer && ev.dataTransfer.files.length) {
        ev.preventDefault();
        openFile(ev.dataTransfer.files[0]);
      }
    });
    $("file-input").addEventListener("change", (ev) => {
      openFile(ev.target.files[0]);
      ev.target.value = "";
    });
    $("open-label").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        $("file-input").click();
      }
    });
    $("open-label").tabIndex = 0;
    $("open-label").setAttribute("role", "button");
    $("check").addEventListener("click", check);
    $("edit-text").addEventListener("click", () => {
      setEditing(true);
      hidePopover();
      $("text").focus();
    });
    $("opt-span").addEventListener("input", syncOutputs);
    $("opt-doc").addEventListener("input", syncOutputs);
    $("opt-restore").addEventListener("input", syncOutputs);
    $("accept-all").addEventListener("click", acceptAll);
    $("reject-all").addEventListener("click", resetAll);
    $("tab-text").addEventListener("click", () => selectTab("text"));
    $("tab-diff").addEventListener("click", () => selectTab("diff"));
    for (const id of ["tab-text", "tab-diff"]) {
      $(id).addEventListener("keydown", (ev) => {
        if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
          const next = id === "tab-text" ? "diff" : "text";
          selectTab(next);
          $(`tab-${next}`).focus();
        }
      });
    }
    $("copy").addEventListener("click", copyRestored);
    $("download").addEventListener("click", () => download("restored.txt", restoredText(), "text/plain;charset=utf-8"));
    $("download-plan").addEventListener("click", () => download("plan.json", planJson(), "application/json"));
    wireDoc();
    wireCompare();
    updateCount();
    loadServerInfo();
  }

  // For tests and the curious: the page's state, read-only.
  window.unspinPage = { state, restoredText };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
