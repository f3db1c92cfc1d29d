"use strict";
(function () {
  // POST /api/items with fetch. Same-origin requests pass the CSRF check by their
  // Sec-Fetch-Site/Origin headers; with DEMO_CSRF_TOKENS=1 the token goes in a header.
  const form = document.getElementById("item-form");
  const result = document.getElementById("item-result");
  const token = document.querySelector('meta[name="csrf-token"]').content;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const headers = { "Content-Type": "application/json" };
    if (token) headers["X-CSRF-Token"] = token;
    const body = JSON.stringify({ name: form.elements.name.value, price: Number(form.elements.price.value) });
    const response = await fetch(form.dataset.url, { method: "POST", headers, body, credentials: "same-origin" });
    const text = await response.text();
    result.textContent = response.status + " " + text;  // text, never HTML
  });
})();
