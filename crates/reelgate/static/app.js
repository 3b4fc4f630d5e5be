// reelgate web app: progressive enhancement only. Every page works without this file; with it,
// prices update live as options change and videos update live while they are generated.
"use strict";

(function () {
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
  // Thousands grouped as the page's language writes them (web/format.rs does the same).
  const groupSeparator = document.documentElement.lang === "tr" ? "." : ",";
  const group = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, groupSeparator);
  const csrfToken = () => {
    const meta = $('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // ---- small conveniences -------------------------------------------------------------------

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = $(button.dataset.copy);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(() => {
        const label = button.textContent;
        button.textContent = "✓";
        setTimeout(() => { button.textContent = label; }, 1200);
      });
    }
  });

  // ---- generate: live price -------------------------------------------------------------------

  const form = $("#generate-form");
  if (form) enhanceGenerateForm(form);

  function enhanceGenerateForm(form) {
    const balance = Number(form.dataset.balance || 0);
    const priceBox = $("[data-price]", form);
    const priceValue = $("[data-price-value]", form);
    const short = $("[data-short]", form);
    const shortLink = $("[data-short-link]", form);
    const quoteError = $("[data-quote-error]", form);
    const submit = $("[data-submit]", form);
    const modelAvailable = form.dataset.available === "true";
    let pending = null;
    let sequence = 0;

    // The request body the JSON API takes, from the form. Fields the price does not depend on
    // but validation requires (the prompt, image URLs) get stand-ins, so the price shows
    // before they are filled in.
    function body() {
      const request = { model: form.dataset.model };
      $$("[data-param]", form).forEach((field) => {
        const name = field.dataset.param;
        const type = field.dataset.type;
        const required = field.dataset.required === "true";
        if (type === "text") {
          const value = $("textarea", field).value.trim();
          if (value) request[name] = value;
          else if (required) request[name] = "price preview";
        } else if (type === "images") {
          const urls = $("textarea", field).value.split(/\s+/).filter(Boolean);
          const files = $("input[type=file]", field);
          const count = files && files.files ? files.files.length : 0;
          for (let i = 0; i < count; i++) urls.push("https://upload.invalid/preview-" + i + ".png");
          if (!urls.length && required) urls.push("https://upload.invalid/preview.png");
          if (urls.length) request[name] = urls;
        } else if (type === "choice") {
          const checked = $("input:checked", field);
          if (checked) request[name] = typed(checked.value, field.dataset.valueType);
        } else if (type === "toggle") {
          request[name] = $("input", field).checked;
        } else {
          const value = $("input", field).value;
          if (value !== "") request[name] = Number(value);
        }
      });
      return request;
    }

    function typed(value, type) {
      if (type === "integer") return parseInt(value, 10);
      if (type === "boolean") return value === "true";
      return value;
    }

    function show(credits) {
      priceValue.textContent = group(credits);
      priceBox.classList.remove("loading");
      quoteError.hidden = true;
      const missing = credits - balance;
      const tooLittle = missing > 0;
      short.hidden = !tooLittle;
      shortLink.hidden = !tooLittle;
      if (tooLittle) short.textContent = fill(form.dataset.shortTemplate, { credits: group(missing) });
      submit.disabled = tooLittle || !modelAvailable;
    }

    function failed(message) {
      priceValue.textContent = "—";
      priceBox.classList.remove("loading");
      quoteError.textContent = message || form.dataset.priceError;
      quoteError.hidden = false;
    }

    function quote() {
      const mine = ++sequence;
      priceBox.classList.add("loading");
      fetch(form.dataset.quoteUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          // The API refuses cookie-authenticated writes without the page's token.
          "X-CSRF-Token": csrfToken(),
        },
        body: JSON.stringify(body()),
      })
        .then((response) => response.json().then((json) => ({ ok: response.ok, json })))
        .then(({ ok, json }) => {
          if (mine !== sequence) return; // a newer quote is on its way
          if (ok && typeof json.credits === "number") show(json.credits);
          else failed(json && json.error && json.error.message);
        })
        .catch(() => { if (mine === sequence) failed(); });
    }

    function later() {
      clearTimeout(pending);
      pending = setTimeout(quote, 150);
    }

    form.addEventListener("change", later);
    form.addEventListener("input", (event) => {
      if (event.target.matches("input[type=number], input[type=range], textarea")) later();
      if (event.target.matches("input[type=range]")) slid(event.target);
      counter(event.target);
    });

    // A slider shows its value as it moves ("12 s"), in the page's words for the unit.
    function slid(input) {
      const shown = $("[data-slider-value]", input.closest("[data-param]"));
      if (!shown) return;
      shown.textContent = (shown.dataset.template || "{n}").replace("{n}", input.value);
    }
    form.addEventListener("submit", () => {
      submit.disabled = true;
      submit.classList.add("busy");
    });

    $$("textarea", form).forEach(counter);
    function counter(textarea) {
      const field = textarea.closest("[data-param]");
      const shown = field && $("[data-counter]", field);
      if (!shown || !shown.dataset.counter) return;
      shown.textContent = textarea.value.length + " / " + shown.dataset.counter;
    }

    $$("input[data-images]", form).forEach((input) => {
      input.addEventListener("change", () => {
        const thumbs = $("[data-thumbs]", input.closest("[data-param]"));
        thumbs.textContent = "";
        Array.from(input.files || []).forEach((file) => {
          const img = document.createElement("img");
          img.alt = file.name;
          img.src = URL.createObjectURL(file);
          thumbs.appendChild(img);
        });
      });
    });

    quote();
  }

  // ---- my videos: live progress ----------------------------------------------------------------

  const POLL_MS = 1500;

  function poll() {
    const cards = $$("[data-poll]");
    if (!cards.length) return;
    Promise.all(cards.map(refresh)).finally(() => setTimeout(poll, POLL_MS));
  }

  function refresh(card) {
    return fetch(card.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((generation) => {
        if (generation && generation.status === card.dataset.status) {
          showWait(card, generation);
          return null;
        }
        return swap(card);
      })
      .catch(() => null);
  }

  // The estimates move as the queue does: rewritten from each poll, rounded as the server does.
  function showWait(card, generation) {
    const shown = card.querySelector("[data-eta]");
    if (!shown) return;
    const minutes = (at) => {
      const ms = Date.parse(at);
      if (isNaN(ms)) return null;
      return Math.max(1, Math.floor((Math.max(0, Math.floor((ms - Date.now()) / 1000)) + 30) / 60));
    };
    const start = generation.status === "queued" ? minutes(generation.estimated_start_at) : null;
    const ready = minutes(generation.estimated_ready_at);
    if (start !== null && ready !== null) {
      shown.textContent = fill(shown.dataset.templateStart, { start, ready });
    } else if (ready !== null) {
      shown.textContent = fill(shown.dataset.templateReady, { ready });
    } else {
      shown.textContent = "";
    }
  }

  function swap(card) {
    return fetch(card.dataset.card, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => {
        if (!html) return;
        const holder = document.createElement("div");
        holder.innerHTML = html.trim();
        const fresh = holder.querySelector(".video-card");
        if (!fresh || fresh.dataset.status === card.dataset.status) return;
        fresh.classList.add("flash");
        card.replaceWith(fresh);
        refreshBalance();
      });
  }

  function refreshBalance() {
    const shown = $("[data-balance]");
    if (!shown) return;
    fetch("/v1/account", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((account) => {
        if (account && typeof account.balance === "number") {
          shown.dataset.balance = account.balance;
          shown.textContent = group(account.balance);
        }
      })
      .catch(() => {});
  }

  function tick() {
    $$("[data-since]").forEach((el) => {
      const since = Date.parse(el.dataset.since);
      if (isNaN(since)) return;
      const seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
      const time = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
      el.textContent = fill(el.dataset.template || "{time}", { time });
    });
  }

  if ($("[data-poll]")) setTimeout(poll, POLL_MS);
  if ($("[data-since]")) { tick(); setInterval(tick, 1000); }
})();
