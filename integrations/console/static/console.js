/* The web console: read a timeline, type commands, tap card buttons.
 *
 * Asks /console/api/me first: in "signin" mode it speaks for the signed-in person only (or shows
 * how to sign in); in "open" mode (a local demo) it offers every identity to pick from.
 * Talks to /console/api (me, identities, inbox, messages, actions, locale) and listens to
 * /console/api/stream for new entries and card changes. No framework, no build step.
 * Times are shown in the business's time zone (the inbox says which), the zone the server writes
 * card times in, so one screen never mixes two zones; the zone is named where the browser's differs.
 * Server text is always inserted as text nodes, never as HTML.
 */
"use strict";

(() => {
  const API = "/console/api";
  const STORAGE_USER = "oms.console.user";
  const STORAGE_LANG = "oms.console.lang";
  const HISTORY_LIMIT = 50;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const RESYNC_AFTER_TAP_MS = 2500;
  const NEAR_BOTTOM_PX = 120;

  // ---- UI strings -------------------------------------------------------------------------

  const STRINGS = {
    en: {
      brand: "OMS Console",
      tagline: "Try the product as anyone",
      language: "Language",
      identities: "Identities",
      "identities.hint": "Pick who you are. Each has their own inbox.",
      loading: "Loading…",
      timeline: "Messages",
      chips: "Quick commands",
      jump: "New messages ↓",
      send: "Send",
      "input.label": "Message or command",
      "input.placeholder": "Type a command, e.g. /help",
      "input.hint": "Enter to send · Shift+Enter for a new line · ↑ recalls the last command",
      "conn.idle": "Not connected",
      "conn.connecting": "Connecting…",
      "conn.live": "Live",
      "conn.reconnecting": "Reconnecting in {s}s…",
      "empty.title": "No messages yet",
      "empty.body": "Type a command below, or start with /help.",
      "bot": "OMS",
      "you": "You",
      "sending": "Sending…",
      "failed": "Not sent",
      "retry": "Retry",
      "error.network": "Cannot reach the server. Check that it is running.",
      "error.identities": "Could not load identities: {msg}",
      "error.inbox": "Could not load the inbox: {msg}",
      "error.action": "The tap did not go through: {msg}",
      "error.locale": "Could not change the language: {msg}",
      "error.send": "Message not sent: {msg}",
      "noIdentities": "No identities. Load master data with console identities first.",
      "kind.approval": "Approval",
      "kind.pick": "Pick",
      "kind.fix": "Fix",
      "kind.parcel": "Parcel",
      "kind.info": "Info",
      "card.closed": "Closed",
      "card.open": "Open",
      "locale.en": "English",
      "locale.zh-CN": "简体中文",
      "openOrder": "Show {no}",
      "demo.banner": "Demo mode: anyone who can open this page can act as anyone. For trying the product on this computer only.",
      "signin.title": "Sign in to the OMS console",
      "signin.body": "The console needs a sign-in link. Send /console (or /控制台) to the OMS bot in DingTalk, WeCom, Slack or Telegram and it answers privately with a link, or ask an admin to run: oms console link YOUR-NAME. A link works once, for a few minutes.",
      "signin.as": "Signed in as {name}",
      "signout": "Sign out",
      "error.signout": "Could not sign out: {msg}",
      "zone": "times in {zone}",
    },
    "zh-CN": {
      brand: "OMS 控制台",
      tagline: "以任何身份体验产品",
      language: "语言",
      identities: "身份",
      "identities.hint": "选择你的身份，每个身份有自己的消息。",
      loading: "加载中…",
      timeline: "消息",
      chips: "快捷命令",
      jump: "有新消息 ↓",
      send: "发送",
      "input.label": "消息或命令",
      "input.placeholder": "输入命令，例如 /help",
      "input.hint": "Enter 发送 · Shift+Enter 换行 · ↑ 调出上一条命令",
      "conn.idle": "未连接",
      "conn.connecting": "连接中…",
      "conn.live": "实时",
      "conn.reconnecting": "{s} 秒后重连…",
      "empty.title": "还没有消息",
      "empty.body": "在下方输入命令，或从 /help 开始。",
      "bot": "OMS",
      "you": "我",
      "sending": "发送中…",
      "failed": "未发送",
      "retry": "重试",
      "error.network": "无法连接服务器，请确认服务已启动。",
      "error.identities": "无法加载身份：{msg}",
      "error.inbox": "无法加载消息：{msg}",
      "error.action": "操作未成功：{msg}",
      "error.locale": "无法切换语言：{msg}",
      "error.send": "消息未发送：{msg}",
      "noIdentities": "没有身份。请先导入带有 console 身份的主数据。",
      "kind.approval": "审批",
      "kind.pick": "拣货",
      "kind.fix": "待处理",
      "kind.parcel": "物流异常",
      "kind.info": "通知",
      "card.closed": "已结束",
      "card.open": "待处理",
      "demo.banner": "演示模式：任何能打开此页面的人都可以冒充任何身份，仅供在本机试用。",
      "signin.title": "登录 OMS 控制台",
      "signin.body": "控制台需要登录链接。在钉钉、企业微信、Slack 或 Telegram 中向 OMS 机器人发送 /控制台（或 /console），它会私下回复一个链接；也可以请管理员运行：oms console link 你的名字。链接只能用一次，几分钟内有效。",
      "signin.as": "已登录：{name}",
      "signout": "退出登录",
      "error.signout": "无法退出登录：{msg}",
      "zone": "时间按{zone}显示",
      "locale.en": "English",
      "locale.zh-CN": "简体中文",
      "openOrder": "查看 {no}",
    },
  };

  const ROLE_NAMES = {
    "zh-CN": {
      sales: "销售", approver: "审批人", finance: "财务", manager: "经理", warehouse: "仓库",
      service: "客服", admin: "管理员", customer: "客户", production: "生产",
    },
  };

  // Each chip is offered only to people the server says may use its command (the inbox's "commands").
  const CHIPS = [
    { command: "help", text: "/help", hint: { en: "What can I do?", "zh-CN": "帮助" } },
    { command: "approvals", text: "/approvals", hint: { en: "Orders waiting for approval", "zh-CN": "待审批" } },
    { command: "order", text: "/order ", label: "/order", hint: { en: "Show an order", "zh-CN": "查单" } },
    { command: "stock", text: "/stock TEA-001", hint: { en: "Stock of a SKU", "zh-CN": "库存" } },
    { command: "pick", text: "/pick", hint: { en: "My pick list", "zh-CN": "拣货" } },
  ];

  // ---- state --------------------------------------------------------------------------------

  const state = {
    lang: "en",
    identities: [],
    user: null, // current identity id
    commands: null, // the command names the current identity may use, from the inbox
    timeZone: null, // the business's time zone, from the inbox; null: the browser's own
    generation: 0, // bumps on every identity switch; stale async work checks it
    lastId: 0,
    cards: new Map(), // card_id -> latest Card
    entries: new Map(), // entry id -> Entry, for what the timeline shows
    history: [], // sent commands, oldest first
    historyPos: null,
    stream: null,
    reconnectTimer: null,
    countdownTimer: null,
    backoff: BACKOFF_MIN_MS,
    connected: false,
    signedIn: null, // the signed-in person's name (sign-in mode)
  };

  const inFlight = new Map(); // card_id -> action id being sent

  const $ = (id) => document.getElementById(id);
  const els = {};

  // ---- small helpers ------------------------------------------------------------------------

  function t(key, vars) {
    const table = STRINGS[state.lang] || STRINGS.en;
    let s = table[key] ?? STRINGS.en[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, String(v));
    return s;
  }

  function normLang(locale) {
    return String(locale || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = v;
        else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
        else if (k === "dataset") Object.assign(node.dataset, v);
        else if (k === "vars") for (const [name, value] of Object.entries(v)) node.style.setProperty(name, value);
        else node.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
        cache: "no-store",
      });
    } catch (_) {
      throw new ApiError(t("error.network"), 0);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.error) || `HTTP ${response.status}`;
      throw new ApiError(message, response.status);
    }
    return data || {};
  }

  function toast(message, tone = "error") {
    const node = el("div", { class: `toast toast--${tone}` }, message);
    els.toasts.append(node);
    setTimeout(() => node.classList.add("toast--out"), 5000);
    setTimeout(() => node.remove(), 5400);
  }

  /** The zone the server names, if this browser knows it (an unknown one would throw on every format). */
  function knownZone(zone) {
    if (!zone) return null;
    try {
      new Intl.DateTimeFormat("en", { timeZone: zone });
      return zone;
    } catch (_) {
      return null;
    }
  }

  function zoneOptions() {
    return state.timeZone ? { timeZone: state.timeZone } : {};
  }

  /** A time in the business's zone: short for the bubble, and in full, zone named, for its tooltip. */
  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return { short: "", full: "" };
    const locale = state.lang === "zh-CN" ? "zh-CN" : "en-GB";
    const zone = zoneOptions();
    const day = (d) => d.toLocaleDateString("en-CA", zone);
    const sameDay = day(date) === day(new Date());
    const time = date.toLocaleTimeString(locale, { ...zone, hour: "2-digit", minute: "2-digit", hour12: false });
    const short = sameDay ? time : `${date.toLocaleDateString(locale, { ...zone, month: "short", day: "numeric" })} ${time}`;
    const full = date.toLocaleString(locale, { ...zone, dateStyle: "full", timeStyle: "long" });
    return { short, full };
  }

  /** "Asia/Shanghai (GMT+8)" when the business's zone is not the browser's (now), else "". */
  function zoneNote() {
    if (!state.timeZone) return "";
    const now = new Date();
    const offset = (options) => new Intl.DateTimeFormat("en-GB", { ...options, timeZoneName: "shortOffset" })
      .formatToParts(now).find((part) => part.type === "timeZoneName")?.value;
    const business = offset({ timeZone: state.timeZone });
    if (business === offset({})) return "";
    return `${state.timeZone} (${business})`;
  }

  function renderTimes() {
    for (const node of els.timeline.querySelectorAll("time[datetime]")) {
      const { short, full } = formatTime(node.getAttribute("datetime"));
      node.textContent = short;
      node.title = full;
    }
  }

  /** Text with newlines kept, *bold* and `code` honoured; order numbers become buttons that fill /order. */
  function richText(text) {
    const frag = document.createDocumentFragment();
    // *bold* only at word edges, as chat markup does: "TEA-001*2 CUP-01*1" is what to type, not bold.
    const pattern = /(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|`([^`\n]+)`|\b(SO-\d+)\b/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      if (match.index > last) frag.append(text.slice(last, match.index));
      if (match[1] !== undefined) {
        frag.append(el("strong", null, match[1]));
      } else if (match[2] !== undefined) {
        frag.append(el("code", null, match[2]));
      } else {
        const no = match[3];
        frag.append(el("button", {
          type: "button", class: "ref", title: t("openOrder", { no }),
          onclick: () => fillInput(`/order ${no}`),
        }, no));
      }
      last = match.index + match[0].length;
    }
    if (last < text.length) frag.append(text.slice(last));
    return frag;
  }

  // ---- i18n of the static chrome --------------------------------------------------------------

  function applyLang(lang) {
    state.lang = normLang(lang);
    localStorage.setItem(STORAGE_LANG, state.lang);
    document.documentElement.lang = state.lang;
    document.title = t("brand");
    if (state.signedIn) $("signed-in-name").textContent = t("signin.as", { name: state.signedIn });
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
    }
    for (const node of document.querySelectorAll("[data-i18n-aria]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nAria));
    }
    for (const button of document.querySelectorAll(".lang__btn")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    renderChips();
    renderIdentities();
    renderHeader();
    setConnection(els.conn.dataset.state);
    renderTimes();
    for (const card of state.cards.values()) replaceCard(card, { force: true });
    const empty = els.timeline.querySelector(".empty");
    if (empty) empty.replaceWith(renderEmpty());
  }

  function roleName(role) {
    return (ROLE_NAMES[state.lang] && ROLE_NAMES[state.lang][role]) || role;
  }

  // ---- identities -----------------------------------------------------------------------------

  function currentIdentity() {
    return state.identities.find((i) => i.id === state.user) || null;
  }

  function renderIdentities() {
    const list = els.identities;
    if (!state.identities.length) return;
    list.replaceChildren(
      ...state.identities.map((identity) => {
        const selected = identity.id === state.user;
        const initial = Array.from(identity.name || identity.id)[0] || "?";
        return el("li", null,
          el("button", {
            type: "button",
            class: "identity" + (selected ? " identity--selected" : ""),
            "data-testid": `identity-${identity.id}`,
            "aria-current": selected ? "true" : null,
            onclick: () => selectIdentity(identity.id),
          },
          el("span", { class: "avatar", "aria-hidden": "true", vars: { "--hue": hue(identity.id) } }, initial),
          el("span", { class: "identity__body" },
            el("span", { class: "identity__top" },
              el("span", { class: "identity__name" }, identity.name || identity.id),
              el("span", { class: "identity__id" }, identity.id)),
            el("span", { class: "tags" }, roleTags(identity)))));
      }),
    );
  }

  function roleTags(identity) {
    return [
      ...(identity.roles || []).map((role) => el("span", { class: `tag tag--${role}` }, roleName(role))),
      ...(identity.warehouses || []).map((code) => el("span", { class: "tag tag--site", title: code }, code)),
    ];
  }

  function hue(id) {
    let h = 0;
    for (const ch of id) h = (h * 31 + ch.codePointAt(0)) % 360;
    return String(h);
  }

  function renderHeader() {
    const identity = currentIdentity();
    els.title.textContent = identity ? identity.name : "—";
    els.roles.replaceChildren(...(identity ? roleTags(identity) : []));
    const zone = zoneNote();
    els.meta.textContent = identity
      ? [identity.id, t(`locale.${state.lang}`), zone && t("zone", { zone })].filter(Boolean).join(" · ")
      : "";
  }

  async function loadIdentities() {
    try {
      const data = await api("GET", "/identities");
      state.identities = data.identities || [];
    } catch (error) {
      els.identities.replaceChildren(el("li", { class: "identities__error" }, t("error.identities", { msg: error.message })));
      return;
    }
    if (!state.identities.length) {
      els.identities.replaceChildren(el("li", { class: "identities__error" }, t("noIdentities")));
      return;
    }
    const fromUrl = new URLSearchParams(location.search).get("user");
    const stored = localStorage.getItem(STORAGE_USER);
    const known = (id) => id && state.identities.some((i) => i.id === id);
    const pick = known(fromUrl) ? fromUrl : known(stored) ? stored : state.identities[0].id;
    renderIdentities();
    await selectIdentity(pick);
  }

  async function selectIdentity(id) {
    if (id === state.user && state.connected) return;
    const generation = ++state.generation;
    state.user = id;
    state.commands = null; // until this person's inbox says what they may use
    renderChips();
    localStorage.setItem(STORAGE_USER, id);
    const url = new URL(location.href);
    url.searchParams.set("user", id);
    history.replaceState(null, "", url);
    closeStream();
    state.history = loadHistory(id);
    state.historyPos = null;
    const identity = currentIdentity();
    if (identity && identity.locale) applyLang(identity.locale);
    else { renderIdentities(); renderHeader(); }
    els.timeline.replaceChildren(el("div", { class: "timeline__loading" }, t("loading")));
    const ok = await resync(generation, { fresh: true });
    if (generation !== state.generation) return;
    if (ok) openStream(generation);
    else scheduleReconnect(generation);
    els.input.focus();
  }

  // ---- inbox and timeline ---------------------------------------------------------------------

  /** Fetch the whole inbox and render it; used on identity switch, language switch and reconnect. */
  async function resync(generation, { fresh = false } = {}) {
    let data;
    try {
      data = await api("GET", `/inbox?user=${encodeURIComponent(state.user)}`);
    } catch (error) {
      if (generation !== state.generation) return false;
      if (fresh) {
        els.timeline.replaceChildren(el("div", { class: "timeline__error" }, t("error.inbox", { msg: error.message })));
      }
      return false;
    }
    if (generation !== state.generation) return false;
    state.commands = Array.isArray(data.commands) ? data.commands : null;
    state.timeZone = knownZone(data.timezone);
    if (data.locale && normLang(data.locale) !== state.lang) applyLang(data.locale);
    else { renderChips(); renderHeader(); }
    const identity = currentIdentity();
    if (identity && data.locale) identity.locale = data.locale;
    const stick = fresh || isNearBottom();
    const pending = Array.from(els.timeline.querySelectorAll(".msg--pending, .msg--failed"));
    const lastId = Number(data.last_id) || 0;
    // Entries the stream delivered while the inbox was on its way are newer than its snapshot: keep them.
    const newer = fresh ? [] : Array.from(state.entries.values()).filter((e) => e.id > lastId);
    state.entries.clear();
    state.cards.clear();
    els.timeline.replaceChildren();
    for (const entry of [...(data.entries || []), ...newer]) addEntry(entry, { scroll: false });
    for (const node of pending) els.timeline.append(node);
    state.lastId = Math.max(lastId, ...state.entries.keys());
    if (!els.timeline.children.length) els.timeline.append(renderEmpty());
    if (stick) scrollToBottom();
    return true;
  }

  function renderEmpty() {
    return el("div", { class: "empty" },
      el("p", { class: "empty__title" }, t("empty.title")),
      el("p", { class: "empty__body" }, t("empty.body")));
  }

  function isNearBottom() {
    const tl = els.timeline;
    return tl.scrollHeight - tl.scrollTop - tl.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    els.timeline.scrollTop = els.timeline.scrollHeight;
    els.jump.hidden = true;
  }

  /** Put one server entry into the timeline, in id order, once. */
  function addEntry(entry, { scroll = true, own = false } = {}) {
    if (!entry) return;
    if (entry.id === undefined || entry.id === null) {
      // Not kept in any timeline (e.g. the identity is unknown): show it once, in place.
      els.timeline.querySelector(".empty")?.remove();
      els.timeline.append(renderEntry(entry));
      if (scroll) scrollToBottom();
      return;
    }
    if (entry.card) replaceCard(entry.card);
    if (state.entries.has(entry.id)) return;
    state.entries.set(entry.id, entry);
    state.lastId = Math.max(state.lastId, entry.id);

    if (entry.direction === "in" && bindPending(entry)) return;

    const stick = own || isNearBottom();
    els.timeline.querySelector(".empty")?.remove();
    const node = renderEntry(entry);
    const after = Array.from(els.timeline.querySelectorAll("[data-entry-id]"))
      .find((n) => Number(n.dataset.entryId) > entry.id);
    if (after) after.before(node);
    else {
      // Keep messages still in flight at the very end.
      const firstPending = els.timeline.querySelector(".msg--pending");
      if (firstPending && entry.direction === "in") firstPending.before(node);
      else els.timeline.append(node);
    }
    if (!scroll) return;
    if (stick) scrollToBottom();
    else els.jump.hidden = false;
  }

  /** The server's copy of a message we already show optimistically: give our bubble its id. */
  function bindPending(entry) {
    const candidates = els.timeline.querySelectorAll(".msg--local:not([data-entry-id])");
    for (const node of candidates) {
      if (node.dataset.text === (entry.text || "")) {
        node.dataset.entryId = String(entry.id);
        node.dataset.testid = `entry-${entry.id}`;
        node.classList.remove("msg--local");
        const time = node.querySelector("time");
        if (time && entry.at) {
          time.setAttribute("datetime", entry.at);
          const { short, full } = formatTime(entry.at);
          time.textContent = short;
          time.title = full;
        }
        return true;
      }
    }
    return false;
  }

  function renderEntry(entry) {
    const incoming = entry.direction === "in";
    const { short, full } = formatTime(entry.at);
    const body = [];
    if (entry.text) body.push(el("div", { class: "bubble" }, richText(entry.text)));
    if (entry.card) body.push(renderCard(state.cards.get(entry.card.card_id) || entry.card));
    if (entry.attachment) body.push(renderAttachment(entry.attachment));
    return el("div", {
      class: `msg ${incoming ? "msg--in" : "msg--out"}${entry.card ? " msg--card" : ""}`,
      "data-testid": entry.id === null || entry.id === undefined ? null : `entry-${entry.id}`,
      "data-direction": incoming ? "in" : "out",
      "data-entry-id": entry.id === null || entry.id === undefined ? null : String(entry.id),
    },
    incoming ? null : el("span", { class: "avatar avatar--bot", "aria-hidden": "true" }, "O"),
    el("div", { class: "msg__body" },
      el("div", { class: "msg__meta" },
        el("span", { class: "msg__who", "data-i18n": incoming ? "you" : "bot" }, incoming ? t("you") : t("bot")),
        el("time", { datetime: entry.at || "", title: full }, short)),
      body));
  }

  /** An image inline (a tap opens it full size), any other file as a download link. */
  function renderAttachment(file) {
    const href = `${file.url}?user=${encodeURIComponent(state.user)}`;
    const size = file.size >= 1048576 ? `${(file.size / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(file.size / 1024))} KB`;
    if (file.kind === "image" && /^image\/(png|jpeg|gif|webp)$/.test(file.media_type)) {
      return el("a", { class: "attachment attachment--image", href, target: "_blank", rel: "noopener" },
        el("img", { src: href, alt: file.filename, loading: "lazy", "data-testid": "attachment-image" }));
    }
    return el("a", { class: "attachment attachment--file", href, download: file.filename, "data-testid": "attachment-file" },
      el("span", { class: "attachment__icon", "aria-hidden": "true" }, "📄"),
      el("span", { class: "attachment__name" }, file.filename),
      el("span", { class: "attachment__size" }, size));
  }

  // ---- cards ------------------------------------------------------------------------------------

  function upsertCard(card) {
    if (!card || card.card_id === undefined) return false;
    const known = state.cards.get(card.card_id);
    if (known) {
      if ((card.version ?? 0) < (known.version ?? 0)) return false;
      if ((card.version ?? 0) === (known.version ?? 0) && known.state === "closed" && card.state !== "closed") {
        return false; // a stale snapshot of a card that has since closed
      }
    }
    state.cards.set(card.card_id, card);
    return true;
  }

  /** Re-render every copy of a card in place. */
  function replaceCard(card, { force = false } = {}) {
    if (!force && !upsertCard(card)) return;
    const latest = state.cards.get(card.card_id) || card;
    for (const node of els.timeline.querySelectorAll(`[data-card-id="${CSS.escape(String(card.card_id))}"]`)) {
      const focused = node.contains(document.activeElement);
      const fresh = renderCard(latest);
      node.replaceWith(fresh);
      if (focused) fresh.focus();
    }
  }

  function outcomeTone(outcome) {
    return /reject|declin|cancel|refus|驳回|拒绝|取消|退回/i.test(outcome || "") ? "negative" : "positive";
  }

  function renderCard(card) {
    const closed = card.state === "closed";
    const kind = card.kind || "info";
    const fields = card.fields || [];
    const notes = card.notes || [];
    const buttons = closed ? [] : card.buttons || [];
    const pending = inFlight.get(card.card_id); // a tap on this card is on its way
    return el("article", {
      class: `card card--${kind} ${closed ? "card--closed" : "card--open"}${pending ? " card--busy" : ""}`,
      "data-testid": `card-${card.card_id}`,
      "data-card-id": String(card.card_id),
      "data-state": card.state || "open",
      "data-version": String(card.version ?? ""),
      tabindex: "-1",
      "aria-label": card.title || "",
    },
    el("header", { class: "card__head" },
      el("span", { class: `card__kind card__kind--${kind}` }, t(`kind.${kind}`)),
      el("h3", { class: "card__title" }, card.title || ""),
      el("span", { class: "card__state" }, closed ? t("card.closed") : t("card.open"))),
    fields.length
      ? el("dl", { class: "card__fields" },
        fields.map((f) => el("div", { class: "field" },
          el("dt", null, f.label ?? ""),
          el("dd", null, richText(String(f.value ?? ""))))))
      : null,
    notes.length ? el("ul", { class: "card__notes" }, notes.map((n) => el("li", null, richText(String(n))))) : null,
    card.outcome
      ? el("div", {
        class: `card__outcome card__outcome--${outcomeTone(card.outcome)}`,
        "data-testid": `outcome-${card.card_id}`,
        role: "status",
      }, el("span", { class: "card__outcome-icon", "aria-hidden": "true" }, outcomeTone(card.outcome) === "negative" ? "✕" : "✓"),
      el("span", null, card.outcome))
      : null,
    buttons.length
      ? el("div", { class: "card__actions" },
        buttons.map((b) => el("button", {
          type: "button",
          "data-testid": `action-${b.action}`,
          "data-action": b.action,
          disabled: pending !== undefined,
          "aria-busy": pending === b.action ? "true" : null,
          class: `btn btn--${["primary", "danger"].includes(b.style) ? b.style : "default"}${
            pending === b.action ? " btn--loading" : ""}`,
          onclick: (event) => tap(card.card_id, b.action, event.currentTarget),
        }, b.label)))
      : null);
  }

  function setCardBusy(cardId, busy, tapped) {
    for (const node of els.timeline.querySelectorAll(`[data-card-id="${CSS.escape(String(cardId))}"]`)) {
      node.classList.toggle("card--busy", busy);
      for (const button of node.querySelectorAll(".card__actions button")) {
        button.disabled = busy;
        button.classList.toggle("btn--loading", busy && button.dataset.action === tapped);
        if (busy && button.dataset.action === tapped) button.setAttribute("aria-busy", "true");
        else button.removeAttribute("aria-busy");
      }
    }
  }

  async function tap(cardId, action, button) {
    if (inFlight.has(cardId)) return;
    inFlight.set(cardId, action);
    const generation = state.generation;
    const versionBefore = state.cards.get(cardId)?.version;
    const stateBefore = state.cards.get(cardId)?.state;
    setCardBusy(cardId, true, action);
    try {
      const data = await api("POST", "/actions", { user: state.user, card_id: cardId, action });
      if (generation !== state.generation) return;
      for (const entry of data.replies || []) addEntry(entry, { own: true });
      // The card event normally arrives on the stream; if it does not, read the inbox again.
      setTimeout(() => {
        const now = state.cards.get(cardId);
        if (generation === state.generation && now && now.version === versionBefore && now.state === stateBefore) {
          resync(generation);
        }
      }, RESYNC_AFTER_TAP_MS);
    } catch (error) {
      if (generation !== state.generation) return;
      toast(t("error.action", { msg: error.message }));
    } finally {
      inFlight.delete(cardId);
      if (generation === state.generation) {
        setCardBusy(cardId, false);
        if (button && button.isConnected) button.focus();
      }
    }
  }

  // ---- sending ------------------------------------------------------------------------------------

  function historyKey(user) {
    return `oms.console.history.${user}`;
  }

  function loadHistory(user) {
    try {
      const list = JSON.parse(localStorage.getItem(historyKey(user)) || "[]");
      return Array.isArray(list) ? list.filter((s) => typeof s === "string") : [];
    } catch (_) {
      return [];
    }
  }

  function remember(text) {
    if (state.history[state.history.length - 1] !== text) state.history.push(text);
    state.history = state.history.slice(-HISTORY_LIMIT);
    localStorage.setItem(historyKey(state.user), JSON.stringify(state.history));
    state.historyPos = null;
  }

  function renderLocal(text) {
    return el("div", { class: "msg msg--in msg--local msg--pending", "data-direction": "in", dataset: { text } },
      el("div", { class: "msg__body" },
        el("div", { class: "msg__meta" },
          el("span", { class: "msg__who", "data-i18n": "you" }, t("you")),
          el("span", { class: "msg__status", "data-i18n": "sending" }, t("sending")),
          el("time", { datetime: new Date().toISOString() }, formatTime(new Date().toISOString()).short)),
        el("div", { class: "bubble" }, richText(text))));
  }

  function setStatus(bubble, key) {
    const status = bubble.querySelector(".msg__status");
    if (!status) return;
    status.dataset.i18n = key;
    status.textContent = t(key);
  }

  async function send(text, existing) {
    if (!state.user) return;
    const generation = state.generation;
    const bubble = existing || renderLocal(text);
    // One id per message, kept across retries: the server answers a retry from the first result.
    bubble.dataset.clientMsgId ||= newMessageId();
    if (existing) {
      bubble.classList.remove("msg--failed");
      bubble.classList.add("msg--pending");
      bubble.querySelector(".msg__retry")?.remove();
      setStatus(bubble, "sending");
    } else {
      els.timeline.querySelector(".empty")?.remove();
      els.timeline.append(bubble);
    }
    scrollToBottom();
    try {
      const data = await api("POST", "/messages", { user: state.user, text, client_msg_id: bubble.dataset.clientMsgId });
      if (generation !== state.generation) return;
      bubble.classList.remove("msg--pending");
      bubble.querySelector(".msg__status")?.remove();
      const replies = data.replies || [];
      for (const entry of replies) addEntry(entry, { own: true });
      if (!bubble.dataset.entryId) {
        // Place it just before its first reply so the conversation reads in order.
        const firstReply = replies.length
          ? els.timeline.querySelector(`[data-entry-id="${CSS.escape(String(replies[0].id))}"]`)
          : null;
        if (firstReply && firstReply !== bubble) firstReply.before(bubble);
      }
      scrollToBottom();
    } catch (error) {
      if (generation !== state.generation) return;
      bubble.classList.remove("msg--pending");
      bubble.classList.add("msg--failed");
      setStatus(bubble, "failed");
      bubble.querySelector(".msg__body").append(
        el("div", { class: "msg__retry" },
          el("span", null, error.message),
          el("button", {
            type: "button", class: "btn btn--small", "data-i18n": "retry", onclick: () => send(text, bubble),
          }, t("retry"))));
      if (error.status === 0) toast(t("error.send", { msg: error.message }));
    }
  }

  function newMessageId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  function submit() {
    const text = els.input.value.trim();
    if (!text) return;
    els.input.value = "";
    autosize();
    remember(text);
    send(text);
  }

  function fillInput(text) {
    els.input.value = text;
    autosize();
    els.input.focus();
    els.input.setSelectionRange(text.length, text.length);
  }

  function autosize() {
    els.input.style.height = "auto";
    els.input.style.height = `${Math.min(els.input.scrollHeight, 160)}px`;
  }

  function onKeydown(event) {
    if (event.isComposing || event.keyCode === 229) return; // IME composition (Chinese input)
    const input = els.input;
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
      return;
    }
    if (event.key === "ArrowUp" && state.history.length) {
      const onFirstLine = !input.value.slice(0, input.selectionStart).includes("\n");
      if (!onFirstLine || (input.value && state.historyPos === null)) return;
      event.preventDefault();
      state.historyPos = state.historyPos === null ? state.history.length - 1 : Math.max(0, state.historyPos - 1);
      fillInput(state.history[state.historyPos]);
      return;
    }
    if (event.key === "ArrowDown" && state.historyPos !== null) {
      event.preventDefault();
      state.historyPos += 1;
      if (state.historyPos >= state.history.length) {
        state.historyPos = null;
        fillInput("");
      } else fillInput(state.history[state.historyPos]);
      return;
    }
    if (event.key === "Escape") {
      state.historyPos = null;
      fillInput("");
    }
  }

  function renderChips() {
    const allowed = state.commands || [];
    els.chips.replaceChildren(
      ...CHIPS.filter((chip) => allowed.includes(chip.command)).map((chip) => el("button", {
        type: "button",
        class: "chip",
        title: chip.hint[state.lang] || chip.hint.en,
        "data-testid": `chip-${chip.text.trim().split(/\s+/)[0].slice(1)}`,
        onclick: () => fillInput(chip.text),
      }, chip.label || chip.text)),
    );
  }

  // ---- live stream --------------------------------------------------------------------------------

  function setConnection(kind, seconds) {
    els.conn.dataset.state = kind;
    els.connLabel.dataset.i18n = `conn.${kind}`;
    els.connLabel.textContent = t(`conn.${kind}`, { s: seconds ?? "" });
  }

  function closeStream() {
    if (state.stream) state.stream.close();
    state.stream = null;
    state.connected = false;
    clearTimeout(state.reconnectTimer);
    clearInterval(state.countdownTimer);
  }

  function openStream(generation) {
    closeStream();
    if (generation !== state.generation) return;
    setConnection("connecting");
    const url = `${API}/stream?user=${encodeURIComponent(state.user)}&after=${state.lastId}`;
    const source = new EventSource(url);
    state.stream = source;
    source.addEventListener("open", () => {
      if (state.stream !== source) return;
      state.connected = true;
      state.backoff = BACKOFF_MIN_MS;
      setConnection("live");
    });
    source.addEventListener("entry", (event) => {
      if (state.stream !== source) return;
      const entry = parse(event.data);
      if (entry) addEntry(entry);
    });
    source.addEventListener("card", (event) => {
      if (state.stream !== source) return;
      const card = parse(event.data);
      if (card) replaceCard(card);
    });
    source.addEventListener("error", () => {
      if (state.stream !== source) return;
      // We reconnect ourselves, so that `after` is current and cards missed meanwhile get re-read.
      source.close();
      scheduleReconnect(generation);
    });
  }

  function scheduleReconnect(generation) {
    state.stream = null;
    state.connected = false;
    const delay = Math.round(state.backoff * (0.8 + Math.random() * 0.4));
    state.backoff = Math.min(state.backoff * 2, BACKOFF_MAX_MS);
    const due = Date.now() + delay;
    const tick = () => setConnection("reconnecting", Math.max(1, Math.ceil((due - Date.now()) / 1000)));
    tick();
    clearInterval(state.countdownTimer);
    state.countdownTimer = setInterval(tick, 1000);
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(() => reconnect(generation), delay);
  }

  async function reconnect(generation) {
    clearInterval(state.countdownTimer);
    if (generation !== state.generation) return;
    setConnection("connecting");
    const ok = await resync(generation);
    if (generation !== state.generation) return;
    if (ok) openStream(generation);
    else scheduleReconnect(generation);
  }

  function parse(data) {
    try {
      return JSON.parse(data);
    } catch (_) {
      return null;
    }
  }

  // ---- language -----------------------------------------------------------------------------------

  async function switchLang(lang) {
    if (normLang(lang) === state.lang) return;
    if (!state.user) {
      applyLang(lang);
      return;
    }
    const generation = state.generation;
    try {
      await api("POST", "/locale", { user: state.user, locale: lang });
    } catch (error) {
      toast(t("error.locale", { msg: error.message }));
      return;
    }
    const identity = currentIdentity();
    if (identity) identity.locale = lang;
    applyLang(lang);
    if (generation !== state.generation) return;
    // Reconnect as well: the stream renders cards in the language the identity had when it opened.
    closeStream();
    await resync(generation, { fresh: true });
    if (generation === state.generation) openStream(generation);
  }

  // ---- start ----------------------------------------------------------------------------------------

  function init() {
    els.conn = document.querySelector(".conn");
    els.connLabel = document.querySelector(".conn__label");
    els.identities = $("identities");
    els.timeline = $("timeline");
    els.jump = $("jump");
    els.input = $("message-input");
    els.form = $("composer");
    els.chips = $("chips");
    els.title = $("chat-title");
    els.roles = $("chat-roles");
    els.meta = $("chat-meta");
    els.toasts = $("toasts");

    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    els.input.addEventListener("keydown", onKeydown);
    els.input.addEventListener("input", () => {
      state.historyPos = null;
      autosize();
    });
    els.jump.addEventListener("click", scrollToBottom);
    els.timeline.addEventListener("scroll", () => {
      if (isNearBottom()) els.jump.hidden = true;
    });
    for (const button of document.querySelectorAll(".lang__btn")) {
      button.addEventListener("click", () => switchLang(button.dataset.lang));
    }
    window.addEventListener("online", () => {
      if (!state.connected && state.user) reconnect(state.generation);
    });

    const storedLang = localStorage.getItem(STORAGE_LANG);
    applyLang(storedLang || (navigator.language || "en"));
    start();
  }

  /** Open mode: the identity picker. Sign-in mode: the signed-in person, or how to sign in. */
  async function start() {
    let mode;
    try {
      mode = await api("GET", "/me");
    } catch (error) {
      if (error.status === 401) {
        document.body.dataset.mode = "signin-needed";
        $("signin").hidden = false;
        return;
      }
      els.identities.replaceChildren(el("li", { class: "identities__error" }, t("error.identities", { msg: error.message })));
      return;
    }
    document.body.dataset.mode = mode.mode;
    if (mode.mode === "open") {
      $("demo-banner").hidden = false;
      await loadIdentities();
      return;
    }
    const identity = mode.identity;
    state.identities = [identity];
    document.querySelector(".brand__sub").hidden = true; // "try the product as anyone" is the demo's
    $("identities-heading").hidden = true;
    $("identities-hint").hidden = true;
    els.identities.hidden = true;
    const who = $("signed-in");
    who.hidden = false;
    state.signedIn = identity.name;
    $("signed-in-name").textContent = t("signin.as", { name: identity.name });
    $("signout").addEventListener("click", signOut);
    await selectIdentity(identity.id);
  }

  async function signOut() {
    try {
      await api("POST", "/signout", {});
    } catch (error) {
      toast(t("error.signout", { msg: error.message }));
      return;
    }
    localStorage.removeItem(STORAGE_USER);
    location.replace("/console");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
