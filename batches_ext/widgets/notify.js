// batches_ext: the "notify me" toggle of a monitor, as an anywidget ES module (plain JavaScript, no build step).
//
// Off by default. A click asks the browser for permission (browsers only ask from a user's click) and sets
// `enabled`; Python sends {type: "notify", title, body} when every watched batch is finished, and this module
// shows it as a desktop notification. Nothing is shown when permission was refused or the browser has none.

function supported() {
  return typeof window !== "undefined" && "Notification" in window;
}

function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "bx-notify";
  button.type = "button";

  function paint() {
    const on = model.get("enabled");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    if (!supported()) {
      button.textContent = "notifications unavailable";
      button.disabled = true;
    } else if (Notification.permission === "denied") {
      button.textContent = "notifications blocked by the browser";
      button.disabled = true;
    } else {
      button.textContent = on ? "☑ will notify when done" : "☐ notify me when done";
    }
    button.title = "a desktop notification when every watched batch has finished";
  }

  button.addEventListener("click", async () => {
    if (!supported()) return;
    let permission = Notification.permission;
    if (!model.get("enabled") && permission === "default") {
      permission = await Notification.requestPermission();
    }
    model.set("enabled", permission === "granted" ? !model.get("enabled") : false);
    model.set("permission", permission);
    model.save_changes();
    paint();
  });

  const onMessage = (msg) => {
    if (!msg || msg.type !== "notify" || !supported() || Notification.permission !== "granted") return;
    try {
      new Notification(msg.title, { body: msg.body, tag: msg.tag });
    } catch (err) {
      // some browsers only allow notifications from a service worker: nothing to show then
    }
  };
  model.on("msg:custom", onMessage);
  model.on("change:enabled", paint);
  paint();
  el.appendChild(button);
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change:enabled", paint);
  };
}

export default { render };
