// The sandbox page: patients' chats and the staff group as in Telegram, the clock, and the log.
// No framework and no build step: it polls /api/state and draws what changed.
"use strict";

const view = {
  open: JSON.parse(localStorage.getItem("sandbox.open") || "[]"),
  thread: null, // the staff group's topic shown (null: General)
  as: null, // the staff member writing
  replyTo: null,
  drawn: {}, // what was last drawn, per part, to draw only what changed
  version: null,
  logShown: false,
};

const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
};

function status(text, ok = false) {
  const box = $("#status");
  box.textContent = text;
  box.className = ok ? "ok" : "";
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!answer.ok) status(answer.error || "that did not work");
  await refresh(true);
  return answer;
}

// Telegram HTML, kept to the tags Telegram allows; anything else becomes its text.
const ALLOWED = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "A", "CODE", "PRE", "BLOCKQUOTE", "TG-SPOILER", "SPAN", "BR"]);
function telegramHtml(html) {
  const source = new DOMParser().parseFromString(`<div>${html.replace(/\n/g, "<br>")}</div>`, "text/html").body.firstChild;
  const copy = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
    if (node.nodeType !== Node.ELEMENT_NODE) return document.createTextNode("");
    const out = ALLOWED.has(node.tagName) ? document.createElement(node.tagName) : document.createDocumentFragment();
    if (node.tagName === "A" && /^(https?:|tg:|mailto:)/.test(node.getAttribute("href") || "")) {
      out.setAttribute("href", node.getAttribute("href"));
      out.setAttribute("target", "_blank");
      out.setAttribute("rel", "noreferrer");
    }
    for (const child of node.childNodes) out.append(copy(child));
    return out;
  };
  const fragment = document.createDocumentFragment();
  for (const child of source.childNodes) fragment.append(copy(child));
  return fragment;
}

function messageNode(message, all, { mine, onPress, onEdit, onReply, showSender }) {
  if (message.service) return el("div", { class: "service" }, message.service);
  const node = el("div", { class: "msg" + (mine ? " mine" : ""), "data-id": message.id });
  if (showSender && message.sender) node.append(el("div", { class: "who" }, message.sender));
  const quoted = message.reply_to && all.find((m) => m.id === message.reply_to);
  if (quoted && !quoted.service) node.append(el("div", { class: "quote" }, quoted.text || "📷 photo"));
  if (message.photo) node.append(el("img", { src: message.photo, alt: message.text || "photo" }));
  const body = el("div", { class: "body" });
  if (message.html) body.append(telegramHtml(message.html));
  else body.textContent = message.text;
  node.append(body);
  if (message.buttons.length) {
    const keyboard = el("div", { class: "keyboard" });
    for (const row of message.buttons) {
      const line = el("div", { class: "row" });
      for (const button of row) {
        line.append(el("button", { type: "button", "data-data": button.data, onclick: () => onPress(message, button) }, button.label));
      }
      keyboard.append(line);
    }
    node.append(keyboard);
  }
  const actions = el("span", { class: "actions" });
  if (onReply) actions.append(el("button", { class: "small", type: "button", title: "Reply to this", onclick: () => onReply(message) }, "↩"));
  if (mine && onEdit) actions.append(el("button", { class: "small", type: "button", title: "Edit", onclick: () => onEdit(message) }, "✎"));
  node.append(el("div", { class: "meta" }, actions, " ", (message.edited ? "edited " : "") + message.at.label));
  return node;
}

function drawMessages(box, messages, options, history = []) {
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  if (history.length) {
    box.append(el("div", { class: "divider" }, "from the database: before the sandbox started"));
    for (const entry of history) {
      const node = el("div", { class: "msg history" + (entry.from_bot ? "" : " mine") });
      if (entry.kind) node.append(el("div", { class: "who" }, entry.kind));
      node.append(el("div", { class: "body" }, entry.text), el("div", { class: "meta" }, entry.at.label));
      box.append(node);
    }
    box.append(el("div", { class: "divider" }, "in the sandbox"));
  }
  for (const message of messages) box.append(messageNode(message, messages, options(message)));
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function drawPinned(box, pinned, messages) {
  const shown = pinned.length ? messages.find((m) => m.id === pinned[pinned.length - 1]) : null;
  box.hidden = !shown;
  box.textContent = shown ? shown.text : "";
}

function commandChips(box, commands, use) {
  box.replaceChildren(...commands.map((c) => el("button", { type: "button", title: c.description, onclick: () => use("/" + c.command) }, "/" + c.command)));
}

// -- patients ---------------------------------------------------------------------------------

function remember() {
  localStorage.setItem("sandbox.open", JSON.stringify(view.open));
}

function drawPatients(state) {
  const list = $("#patients");
  const key = JSON.stringify([state.patients.map((p) => [p.id, p.name, p.code]), view.open]);
  if (view.drawn.patients !== key) {
    view.drawn.patients = key;
    list.replaceChildren(
      ...state.patients.map((p) => {
        const box = el("input", { type: "checkbox", id: `open-${p.id}` });
        box.checked = view.open.includes(p.id);
        box.addEventListener("change", () => {
          view.open = box.checked ? [...view.open, p.id] : view.open.filter((id) => id !== p.id);
          remember();
          refresh(true);
        });
        return el("li", {}, box, el("label", { for: `open-${p.id}` }, p.name + (p.code && p.code !== p.name ? ` · ${p.code}` : "")));
      }),
    );
  }
  const chats = $("#chats");
  const wanted = state.patients.filter((p) => view.open.includes(p.id));
  for (const pane of [...chats.children]) {
    if (!wanted.some((p) => String(p.id) === pane.dataset.patient)) pane.remove();
  }
  for (const patient of wanted) {
    let pane = chats.querySelector(`[data-patient="${patient.id}"]`);
    if (!pane) pane = newChatPane(patient, state);
    drawChat(pane, patient, state);
  }
}

function newChatPane(patient, state) {
  const pane = $("#chat-template").content.firstElementChild.cloneNode(true);
  pane.dataset.patient = patient.id;
  const send = (text) => post(`/api/patients/${patient.id}/send`, { text });
  $(".close", pane).addEventListener("click", () => {
    view.open = view.open.filter((id) => id !== patient.id);
    remember();
    refresh(true);
  });
  $(".composer", pane).addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $(".text", pane);
    if (!input.value.trim()) return;
    const text = input.value;
    input.value = "";
    send(text);
  });
  $(".photo", pane).addEventListener("click", () => {
    const caption = prompt("A photo, with a caption (optional):", "");
    if (caption !== null) post(`/api/patients/${patient.id}/photo`, { caption });
  });
  pane.sendText = send;
  $("#chats").append(pane);
  return pane;
}

function drawChat(pane, patient, state) {
  $(".title", pane).textContent = patient.name;
  $(".code", pane).textContent = patient.code && patient.code !== patient.name ? patient.code : `id ${patient.id}`;
  const key = JSON.stringify([patient.messages, patient.history, patient.pinned, state.patient_commands]);
  if (pane.drawnKey === key) return;
  pane.drawnKey = key;
  const box = $(".messages", pane);
  const messages = patient.messages || [];
  drawMessages(
    box,
    messages,
    (message) => ({
      mine: !message.from_bot,
      onPress: (m, button) => post(`/api/patients/${patient.id}/press`, { message: m.id, data: button.data }),
      onEdit: (m) => {
        const text = prompt("Edit your message:", m.text);
        if (text !== null && text.trim()) post(`/api/patients/${patient.id}/edit`, { message: m.id, text });
      },
    }),
    patient.history || [],
  );
  if (!messages.length && !(patient.history || []).length) {
    box.append(el("button", { class: "start", type: "button", onclick: () => pane.sendText("/start") }, "START"));
  }
  drawPinned($(".pinned", pane), patient.pinned || [], messages);
  commandChips($(".commands", pane), state.patient_commands, (command) => pane.sendText(command));
}

// -- the staff group -------------------------------------------------------------------------

function drawStaff(state) {
  const staff = state.staff;
  const as = $("#staff-as");
  if (!as.options.length) {
    for (const member of staff.members) as.append(el("option", { value: member.id }, member.name));
    const guide = staff.members.find((m) => m.role === "guide");
    as.value = String((guide || staff.members[0]).id);
  }
  if (view.thread !== null && !staff.topics.some((t) => t.thread === view.thread)) view.thread = null;
  const topics = [{ thread: null, name: "General" }, ...staff.topics];
  const topicsKey = JSON.stringify([topics, view.thread]);
  if (view.drawn.topics !== topicsKey) {
    view.drawn.topics = topicsKey;
    $("#topics").replaceChildren(
      ...topics.map((t) =>
        el(
          "button",
          {
            type: "button",
            class: t.thread === view.thread ? "current" : "",
            "data-thread": t.thread ?? "general",
            onclick: () => {
              view.thread = t.thread;
              view.replyTo = null;
              refresh(true);
            },
          },
          t.name,
        ),
      ),
    );
  }
  const inTopic = (m) => (view.thread === null ? m.thread === null : m.thread === view.thread || m.id === view.thread);
  const messages = staff.messages.filter(inTopic);
  const key = JSON.stringify([messages, view.thread, staff.pinned, staff.commands, view.replyTo]);
  if (view.drawn.staff === key) return;
  view.drawn.staff = key;
  drawMessages($("#staff-messages"), messages, (message) => ({
    mine: !message.from_bot,
    showSender: true,
    onPress: (m, button) => post("/api/staff/press", { as: Number(as.value), message: m.id, data: button.data }),
    onReply: (m) => {
      view.replyTo = m.id;
      view.drawn.staff = null;
      drawStaff(state);
    },
    onEdit: (m) => {
      const text = prompt("Edit the message:", m.text);
      if (text !== null && text.trim()) post("/api/staff/edit", { as: Number(m.sender_id || as.value), message: m.id, text });
    },
  }));
  drawPinned($("#staff-pinned"), staff.pinned, staff.messages);
  const replying = $("#staff-replying");
  const target = view.replyTo && staff.messages.find((m) => m.id === view.replyTo);
  replying.hidden = !target;
  replying.replaceChildren();
  if (target) {
    replying.append(`Replying to: ${target.text.slice(0, 80)} `, el("button", { class: "small", type: "button", onclick: () => { view.replyTo = null; view.drawn.staff = null; drawStaff(state); } }, "✕"));
  }
  commandChips($("#staff-commands"), staff.commands, (command) => {
    const input = $("#staff-text");
    input.value = command + " ";
    input.focus();
  });
}

$("#staff-composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("#staff-text");
  if (!input.value.trim()) return;
  const body = { as: Number($("#staff-as").value), text: input.value, thread: view.thread, reply_to: view.replyTo };
  input.value = "";
  view.replyTo = null;
  post("/api/staff/send", body);
});

// -- the clock and the log -------------------------------------------------------------------

function drawClock(clock) {
  $("#now").textContent = clock.label;
  $("#zone").textContent = clock.zone;
  $("#next-due").textContent = clock.next_due ? `next due: ${clock.next_due.kind}, ${clock.next_due.label}` : "nothing due";
}

async function moveClock(body) {
  status("moving the clock…", true);
  for (const button of document.querySelectorAll(".clock-buttons button")) button.disabled = true;
  try {
    const answer = await post("/api/clock", body);
    if (answer.ok) status(`now ${answer.now.label}: ${answer.fired} due event(s) acted on`, true);
  } finally {
    for (const button of document.querySelectorAll(".clock-buttons button")) button.disabled = false;
  }
}

for (const button of document.querySelectorAll(".clock-buttons button[data-by]")) {
  button.addEventListener("click", () => moveClock({ by: button.dataset.by }));
}
$(".clock-buttons button[data-to]").addEventListener("click", () => moveClock({ to: "next" }));
$("#travel").addEventListener("submit", (event) => {
  event.preventDefault();
  const to = $("#travel-to").value;
  if (to) moveClock({ to });
});

$("#toggle-log").addEventListener("click", () => {
  view.logShown = !view.logShown;
  $("#log").hidden = !view.logShown;
  $("#toggle-log").textContent = view.logShown ? "hide" : "show";
  refresh(true);
});

async function drawLog() {
  const answer = await (await fetch("/api/log")).json();
  const rows = answer.entries.map((e) =>
    el(
      "tr",
      {},
      el("td", {}, e.at.label),
      el("td", {}, e.method),
      el("td", {}, e.to),
      el("td", {}, e.thread ?? ""),
      el("td", {}, e.what),
      el("td", { class: e.ok === false ? "failed" : "" }, e.ok === false ? `failed: ${e.error}` : e.ok ? "✓" : "…"),
    ),
  );
  $("#log-rows").replaceChildren(...rows.reverse());
}

$("#new-patient").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#new-name").value.trim();
  if (!name) return status("give the new patient a name");
  $("#new-name").value = "";
  const answer = await post("/api/patients", { name });
  if (answer.ok) {
    view.open = [...view.open, answer.id];
    remember();
    refresh(true);
  }
});

// -- polling ---------------------------------------------------------------------------------

let busy = false;
async function refresh(force = false) {
  if (busy && !force) return;
  busy = true;
  try {
    const response = await fetch(`/api/state?open=${view.open.join(",")}`);
    const state = await response.json();
    const version = JSON.stringify([state.version, view.open]);
    drawClock(state.clock);
    if (force || version !== view.version) {
      view.version = version;
      drawPatients(state);
      drawStaff(state);
      if (view.logShown) await drawLog();
    }
    document.body.dataset.ready = "yes";
    document.body.dataset.draws = String(Number(document.body.dataset.draws || 0) + 1); // for the browser test
  } catch (error) {
    status("the sandbox is not answering (is it still running?)");
  } finally {
    busy = false;
  }
}

refresh(true);
setInterval(refresh, 700);
