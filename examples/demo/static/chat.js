"use strict";
(function () {
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const name = document.getElementById("chat-name");
  const text = document.getElementById("chat-text");
  let socket = null;
  function connect() {
    const url = new URL(log.dataset.url, window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("name", name.value || "guest");
    socket = new WebSocket(url);
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      const item = document.createElement("li");
      item.textContent = message.from + ": " + message.text;  // text, never HTML
      log.appendChild(item);
    };
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (socket === null) connect();
    const send = () => { socket.send(text.value); text.value = ""; };
    if (socket.readyState === WebSocket.OPEN) send(); else socket.addEventListener("open", send, { once: true });
  });
  connect();
})();
