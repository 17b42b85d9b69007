// Kernel-free sliders (tools/website.py): every .kf-panel carries the frames `make site`
// pre-rendered with the notebook's own plot function. Moving a range input (mouse or keyboard)
// shows the frame of the chosen values; all frames are loaded up front, so the swap is immediate.
(function () {
  "use strict";
  function setUp(panel) {
    const data = JSON.parse(panel.querySelector("script.kf-data").textContent);
    const img = panel.querySelector("img.kf-frame");
    const inputs = Array.from(panel.querySelectorAll("input.kf-range"));
    const readouts = Array.from(panel.querySelectorAll("output.kf-readout"));
    const sizes = data.labels.map((l) => l.length);
    const strides = sizes.map((_, i) => sizes.slice(i + 1).reduce((a, b) => a * b, 1));
    const frames = data.files.map((file) => {
      const im = new Image();
      im.src = data.base + file;
      return im;
    });
    function show() {
      let flat = 0;
      const parts = [];
      inputs.forEach((input, i) => {
        const j = Number(input.value);
        flat += j * strides[i];
        const text = data.labels[i][j];
        readouts[i].textContent = text;
        input.setAttribute("aria-valuetext", data.names[i] + " = " + text);
        parts.push(data.names[i] + " = " + text);
      });
      img.src = frames[flat].src;
      img.alt = data.alt + " (" + parts.join(", ") + ")";
      panel.dataset.frame = String(flat);
    }
    inputs.forEach((input) => input.addEventListener("input", show));
    show();
    panel.dataset.ready = "1";
  }
  function all() {
    document.querySelectorAll(".kf-panel").forEach(setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
})();
