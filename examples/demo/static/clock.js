"use strict";
(function () {
  const clock = document.getElementById("clock");
  const source = new EventSource(clock.dataset.url);
  source.addEventListener("tick", (event) => { clock.textContent = event.data; });
})();
