/* The sign-in link's page: the link is used only when the person presses the button (a chat
 * platform that fetches the link to preview it must not use it up). */
"use strict";

(() => {
  async function signIn(button) {
    const token = new URLSearchParams(location.search).get("token") || "";
    const error = document.getElementById("signin-error");
    button.disabled = true;
    try {
      const response = await fetch("/console/api/signin", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token }),
        credentials: "same-origin",
      });
      if (response.ok) {
        // Only our own pages: a link must not be able to send the person anywhere else.
        const next = new URLSearchParams(location.search).get("next");
        location.replace(next === "dashboard" ? "/console/dashboard" : "/console");
        return;
      }
      document.body.dataset.state = "invalid";
    } catch (_) {
      error.textContent = "无法连接服务器，请重试。· Cannot reach the server; try again.";
      error.hidden = false;
      button.disabled = false;
    }
  }

  function init() {
    const button = document.getElementById("signin-button");
    button.addEventListener("click", () => signIn(button));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
