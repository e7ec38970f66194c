/* The managers' dashboard: the figures of a period, live, each one drilling down to its orders.
 * It reads /console/api/dashboard (figures), …/orders (a drill-down) and …/stream (a notice when
 * something changed, so the figures are fetched again without a reload). No library, no CDN. */
"use strict";

(() => {
  const STORAGE_LANG = "oms.console.lang";
  const STORAGE_USER = "oms.console.user";
  const COLORS = ["#3b5bdb", "#2b8a3e", "#e8590c", "#ae3ec9", "#1098ad", "#f59f00", "#c92a2a", "#5c940d", "#868e96"];
  const STRINGS = {
    en: {
      title: "OMS Dashboard", console: "Console",
      "conn.idle": "Not connected", "conn.live": "Live", "conn.connecting": "Connecting…", "conn.reconnecting": "Reconnecting…",
      "period.today": "Today", "period.7d": "7 days", "period.30d": "30 days",
      "kpi.sales": "Sales", "kpi.orders": "Orders", "kpi.average": "Average order", "kpi.margin": "Gross margin",
      "kpi.returns": "Return rate", "kpi.unknownCost": "{n} line(s) without a cost left out",
      lines: "Sales by product line", regions: "Orders by region", pivot: "Salespeople by product line",
      channels: "Sales by channel", stages: "Time in each stage", stalled: "Waiting longest",
      "col.region": "Region", "col.orders": "Orders", "col.sales": "Sales", "col.channel": "Channel",
      "col.stage": "Stage", "col.stays": "Orders", "col.avg": "Average (h)", "col.p90": "90 % (h)",
      "col.order": "Order", "col.customer": "Customer", "col.status": "Status", "col.total": "Total",
      "col.salesperson": "Salesperson", "col.all": "Total",
      close: "Close", none: "Nothing in this period.", unnamed: "(none)", all: "All orders",
      "drill.line": "Product line {key}", "drill.region": "Region {key}", "drill.sales": "Salesperson {key}",
      "drill.channel": "Channel {key}", "drill.sum": "{count} orders · {sales}", "drill.more": "showing the newest {n}",
      "stalled.item": "{no} · {status} · {hours} h", range: "{first} – {last} ({zone})",
      "notice.signin": "Sign in first: send /dashboard (or /看板) to the OMS bot in your chat app for a link.",
      "notice.forbidden": "The dashboard is for managers, finance and admins.",
      "notice.open": "Choose who you are in the console first (demo mode).",
      "notice.error": "Could not load the figures: {msg}",
    },
    "zh-CN": {
      title: "OMS 看板", console: "控制台",
      "conn.idle": "未连接", "conn.live": "实时", "conn.connecting": "连接中…", "conn.reconnecting": "重连中…",
      "period.today": "今天", "period.7d": "近 7 天", "period.30d": "近 30 天",
      "kpi.sales": "销售额", "kpi.orders": "订单数", "kpi.average": "客单价", "kpi.margin": "毛利",
      "kpi.returns": "退货率", "kpi.unknownCost": "{n} 行无成本，未计入",
      lines: "产品线销售占比", regions: "各地区订单", pivot: "销售员 × 产品线",
      channels: "各渠道销售", stages: "各环节耗时", stalled: "等待最久的订单",
      "col.region": "地区", "col.orders": "订单数", "col.sales": "销售额", "col.channel": "渠道",
      "col.stage": "环节", "col.stays": "订单数", "col.avg": "平均（小时）", "col.p90": "90%（小时）",
      "col.order": "订单", "col.customer": "客户", "col.status": "状态", "col.total": "金额",
      "col.salesperson": "销售员", "col.all": "合计",
      close: "关闭", none: "本期暂无数据。", unnamed: "（未填）", all: "全部订单",
      "drill.line": "产品线：{key}", "drill.region": "地区：{key}", "drill.sales": "销售员：{key}",
      "drill.channel": "渠道：{key}", "drill.sum": "{count} 笔订单 · {sales}", "drill.more": "显示最新的 {n} 笔",
      "stalled.item": "{no} · {status} · {hours} 小时", range: "{first} 至 {last}（{zone}）",
      "notice.signin": "请先登录：在聊天应用中向 OMS 机器人发送 /看板（或 /dashboard）获取链接。",
      "notice.forbidden": "看板仅供经理、财务和管理员使用。",
      "notice.open": "请先在控制台选择身份（演示模式）。",
      "notice.error": "无法加载数据：{msg}",
    },
  };

  const state = { lang: "en", period: "today", user: null, data: null, drill: null, source: null, timer: null };
  const $ = (id) => document.getElementById(id);

  function t(key, params) {
    const text = (STRINGS[state.lang] || STRINGS.en)[key] ?? STRINGS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (params && params[name] !== undefined ? params[name] : `{${name}}`));
  }

  function el(tag, attrs, ...children) {
    const node = tag === "svg" || tag === "path" || tag === "circle"
      ? document.createElementNS("http://www.w3.org/2000/svg", tag)
      : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.setAttribute("class", v);
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "vars") for (const [name, value] of Object.entries(v)) node.style.setProperty(name, value);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function money(value) {
    if (value === null || value === undefined || value === "") return "–";
    const currency = (state.data && state.data.currency) || "CNY";
    const locale = state.lang === "zh-CN" ? "zh-CN" : "en-GB";
    return new Intl.NumberFormat(locale, { style: "currency", currency }).format(Number(value));
  }

  const label = (key) => (key === "" ? t("unnamed") : key);

  function query(extra) {
    const params = new URLSearchParams({ period: state.period, lang: state.lang, ...extra });
    if (state.user) params.set("user", state.user);
    return params.toString();
  }

  async function get(path) {
    const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(body.error || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function notice(text) {
    const box = $("notice");
    box.textContent = text || "";
    box.hidden = !text;
  }

  // ---- rendering ------------------------------------------------------------------------------

  function render() {
    const data = state.data;
    if (!data) return;
    const s = data.summary;
    $("range").textContent = t("range", { first: data.period.first, last: data.period.last, zone: data.period.timezone });
    // The raw figures stay on the elements (data-value), so a reader's tool or a test can check them.
    kpi("kpi-sales", money(s.sales), s.sales);
    kpi("kpi-orders", String(s.orders), s.orders);
    kpi("kpi-average", money(s.average), s.average);
    kpi("kpi-margin", s.margin_percent === null ? "–" : `${s.margin_percent} %`, s.margin);
    const unknown = s.unknown_cost_lines ? ` · ${t("kpi.unknownCost", { n: s.unknown_cost_lines })}` : "";
    $("kpi-margin-sub").textContent = s.margin_percent === null ? "" : money(s.margin) + unknown;
    $("kpi-returns").textContent = s.return_rate === null ? "–" : `${s.return_rate} %`;
    renderPie(data.by.line);
    renderGroups("regions", "region", data.by.region);
    renderGroups("channels", "channel", data.by.channel);
    renderPivot(data.pivot);
    renderStages(data.stages);
    renderStalled(data.stalled);
  }

  function kpi(id, text, value) {
    $(id).textContent = text;
    $(id).dataset.value = value === null ? "" : String(value);
  }

  function empty(cols) {
    return el("tr", null, el("td", { colspan: cols, class: "dash__empty" }, t("none")));
  }

  function renderPie(groups) {
    const box = $("pie");
    box.replaceChildren();
    const total = groups.reduce((sum, g) => sum + Number(g.sales), 0);
    if (!groups.length || total <= 0) {
      box.append(el("p", { class: "dash__empty" }, t("none")));
      return;
    }
    const svg = el("svg", { viewBox: "-1.05 -1.05 2.1 2.1", class: "pie__chart", role: "img", "aria-label": t("lines") });
    let angle = -Math.PI / 2;
    const legend = el("ul", { class: "pie__legend" });
    groups.forEach((g, i) => {
      const share = Number(g.sales) / total;
      const color = COLORS[i % COLORS.length];
      const drill = () => openDrill("line", g.key);
      let shape;
      if (share >= 0.9999) {
        shape = el("circle", { cx: 0, cy: 0, r: 1, fill: color });
      } else {
        const end = angle + share * 2 * Math.PI;
        const large = share > 0.5 ? 1 : 0;
        const d = `M0 0 L${Math.cos(angle)} ${Math.sin(angle)} A1 1 0 ${large} 1 ${Math.cos(end)} ${Math.sin(end)} Z`;
        shape = el("path", { d, fill: color });
        angle = end;
      }
      shape.setAttribute("class", "pie__slice");
      shape.setAttribute("data-key", g.key);
      shape.addEventListener("click", drill);
      svg.append(shape);
      legend.append(
        el("li", null,
          el("button", { type: "button", class: "pie__item", "data-testid": "pie-item", "data-key": g.key, onclick: drill },
            el("span", { class: "pie__swatch", vars: { "--swatch": color } }),
            el("span", { class: "pie__name" }, label(g.key)),
            el("span", { class: "pie__value", "data-sales": g.sales }, `${money(g.sales)} · ${Math.round(share * 1000) / 10} %`))));
    });
    box.append(svg, legend);
  }

  function renderGroups(id, by, groups) {
    const body = $(id);
    body.replaceChildren();
    if (!groups.length) return body.append(empty(3));
    const top = Math.max(...groups.map((g) => Number(g.sales)), 1);
    for (const g of groups) {
      body.append(
        el("tr", { class: "dash__row", "data-key": g.key, "data-testid": `${by}-row`, tabindex: 0,
                   onclick: () => openDrill(by, g.key), onkeydown: (e) => e.key === "Enter" && openDrill(by, g.key) },
          el("td", null, el("span", { class: "bar", vars: { "--bar": `${(Number(g.sales) / top) * 100}%` } }), label(g.key)),
          el("td", { class: "num" }, String(g.orders)),
          el("td", { class: "num", "data-sales": g.sales }, money(g.sales))));
    }
  }

  function renderPivot(pivot) {
    const table = $("pivot");
    table.replaceChildren();
    if (!pivot.rows.length) return table.append(el("tbody", null, empty(2)));
    table.append(el("thead", null, el("tr", null, el("th", null, t("col.salesperson")),
      pivot.columns.map((c) => el("th", { class: "num" }, label(c))), el("th", { class: "num" }, t("col.all")))));
    const body = el("tbody");
    pivot.rows.forEach((row, i) => {
      body.append(el("tr", { class: "dash__row", "data-key": row, "data-testid": "pivot-row", tabindex: 0,
                             onclick: () => openDrill("sales", row), onkeydown: (e) => e.key === "Enter" && openDrill("sales", row) },
        el("th", { scope: "row" }, label(row)),
        pivot.cells[i].map((v) => el("td", { class: "num" }, v === "" ? "" : money(v))),
        el("td", { class: "num", "data-sales": pivot.totals[i] }, money(pivot.totals[i]))));
    });
    table.append(body);
  }

  function renderStages(stages) {
    const body = $("stages");
    body.replaceChildren();
    if (!stages.length) return body.append(empty(4));
    for (const s of stages) {
      body.append(el("tr", null, el("td", null, s.label), el("td", { class: "num" }, String(s.stays)),
        el("td", { class: "num" }, String(s.average_hours)), el("td", { class: "num" }, String(s.p90_hours))));
    }
  }

  function renderStalled(stalled) {
    const list = $("stalled");
    list.replaceChildren();
    if (!stalled.length) return list.append(el("li", { class: "dash__empty" }, t("none")));
    for (const w of stalled) {
      list.append(el("li", { "data-order": w.order_no }, t("stalled.item", { no: w.order_no, status: w.label, hours: w.hours })));
    }
  }

  async function openDrill(by, key) {
    state.drill = { by, key };
    await loadDrill();
    $("drill").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  async function loadDrill() {
    if (!state.drill) return;
    const { by, key } = state.drill;
    const panel = $("drill");
    try {
      const found = await get(`/console/api/dashboard/orders?${query(by === "all" ? {} : { by, key })}`);
      $("drill-title").textContent = by === "all" ? t("all") : t(`drill.${by}`, { key: label(key) });
      const more = found.orders.length < found.count ? ` (${t("drill.more", { n: found.orders.length })})` : "";
      $("drill-sum").textContent = t("drill.sum", { count: found.count, sales: money(found.sales) }) + more;
      const rows = $("drill-rows");
      rows.replaceChildren(...(found.orders.length ? found.orders.map((o) => el("tr", { "data-testid": "drill-row", "data-order": o.order_no },
        el("td", null, o.order_no), el("td", null, o.customer), el("td", null, o.label),
        el("td", { class: "num" }, money(o.total)))) : [empty(4)]));
      panel.hidden = false;
    } catch (error) {
      notice(t("notice.error", { msg: error.message }));
    }
  }

  // ---- loading and live updates ---------------------------------------------------------------

  async function load() {
    try {
      state.data = await get(`/console/api/dashboard?${query()}`);
      notice("");
      render();
      if (state.drill) await loadDrill();
      document.body.dataset.loaded = "true";
    } catch (error) {
      if (error.status === 401) notice(t("notice.signin"));
      else if (error.status === 403) notice(t("notice.forbidden"));
      else notice(t("notice.error", { msg: error.message }));
      throw error;
    }
  }

  function setConnection(name) {
    const conn = document.querySelector(".conn");
    conn.dataset.state = name;
    conn.querySelector(".conn__label").textContent = t(`conn.${name}`);
  }

  function listen() {
    if (state.source) state.source.close();
    setConnection("connecting");
    const params = new URLSearchParams(state.user ? { user: state.user } : {});
    const source = new EventSource(`/console/api/dashboard/stream?${params}`);
    state.source = source;
    source.addEventListener("ready", () => setConnection("live"));
    source.addEventListener("changed", () => {
      clearTimeout(state.timer);
      state.timer = setTimeout(() => load().catch(() => {}), 250);  // one fetch for a burst of changes
    });
    source.onerror = () => setConnection("reconnecting");  // EventSource reconnects by itself
  }

  function applyLang(lang) {
    state.lang = lang === "zh-CN" ? "zh-CN" : "en";
    localStorage.setItem(STORAGE_LANG, state.lang);
    document.documentElement.lang = state.lang;
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const button of document.querySelectorAll(".lang__btn")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    setConnection(document.querySelector(".conn").dataset.state);
  }

  async function init() {
    const stored = localStorage.getItem(STORAGE_LANG);
    const me = await get("/console/api/me").catch((error) => ({ error }));
    if (me.mode === "open") {
      state.user = new URLSearchParams(location.search).get("user") || localStorage.getItem(STORAGE_USER);
    }
    const asked = new URLSearchParams(location.search).get("lang");
    applyLang(asked || stored || (me.identity && me.identity.locale) || (navigator.language || "en"));
    if (me.error && me.error.status === 401) return notice(t("notice.signin"));
    if (me.mode === "open" && !state.user) return notice(t("notice.open"));
    for (const button of document.querySelectorAll(".lang__btn")) {
      button.addEventListener("click", () => { applyLang(button.dataset.lang); load().catch(() => {}); });
    }
    for (const button of document.querySelectorAll(".dash__period")) {
      button.addEventListener("click", () => {
        state.period = button.dataset.period;
        for (const b of document.querySelectorAll(".dash__period")) b.setAttribute("aria-pressed", String(b === button));
        load().catch(() => {});
      });
    }
    document.querySelector("[data-drill='all']").addEventListener("click", () => openDrill("all", ""));
    $("drill-close").addEventListener("click", () => { state.drill = null; $("drill").hidden = true; });
    try {
      await load();
      listen();
    } catch (_) { /* the notice says why */ }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
