// Images sent to and made by vision and image models, shown safely in the side panel.

import { el, section } from "./dom.js";

// Only raster types render, and only from data: URLs (a data: SVG is script-inert inside <img>,
// but there is no need to trust that); the page's CSP allows no other image source.
const SAFE_IMAGE = /^data:image\/(png|jpeg|jpg|gif|webp|avif|bmp);base64,[A-Za-z0-9+/=]+$/i;
const MAX_IMAGES = 24;

function imageRef(url, label) {
  return { url: typeof url === "string" ? url.replace(/\s+/g, "") : null, label };
}

// image parts anywhere in a body: OpenAI chat `image_url`, Responses `input_image`, Anthropic
// `image` blocks (base64 or url source), Gemini `inlineData`/`fileData`
function collectImages(value, found, label, depth = 0) {
  if (!value || typeof value !== "object" || depth > 12 || found.length >= MAX_IMAGES) return found;
  if (Array.isArray(value)) { for (const v of value) collectImages(v, found, label, depth + 1); return found; }
  if (value.type === "image_url" && value.image_url) {
    found.push(imageRef(typeof value.image_url === "string" ? value.image_url : value.image_url.url, label));
  } else if (value.type === "input_image" && typeof value.image_url === "string") {
    found.push(imageRef(value.image_url, label));
  } else if (value.type === "image" && value.source && typeof value.source === "object") {
    const src = value.source;
    if (src.type === "base64") found.push(imageRef(`data:${src.media_type};base64,${src.data}`, label));
    else if (src.type === "url") found.push(imageRef(src.url, label));
  } else if (value.inlineData || value.inline_data) {
    const d = value.inlineData || value.inline_data;
    found.push(imageRef(`data:${d.mimeType || d.mime_type};base64,${d.data}`, label));
  } else {
    for (const v of Object.values(value)) collectImages(v, found, label, depth + 1);
  }
  return found;
}

function entryImages(entry) {
  const req = entry.request && entry.request.body;
  const images = collectImages(req, [], "sent");
  const answer = entry.response && (entry.response.assembled || entry.response.body);
  if (answer && typeof answer === "object") {
    // OpenAI image generation: data[].b64_json in the request's output_format (PNG unless asked), or data[].url
    const format = req && typeof req === "object" && /^(png|jpeg|webp)$/.test(req.output_format) ? req.output_format : "png";
    for (const d of Array.isArray(answer.data) ? answer.data : []) {
      if (!d || typeof d !== "object") continue;
      const label = typeof d.revised_prompt === "string" ? d.revised_prompt : "generated";
      if (typeof d.b64_json === "string") images.push(imageRef(`data:image/${format};base64,${d.b64_json}`, label));
      else if (typeof d.url === "string") images.push(imageRef(d.url, label));
    }
    // Responses API image_generation_call items carry the image base64 in `result`
    for (const o of Array.isArray(answer.output) ? answer.output : []) {
      if (o && o.type === "image_generation_call" && typeof o.result === "string") {
        images.push(imageRef(`data:image/${/^(png|jpeg|webp)$/.test(o.output_format) ? o.output_format : "png"};base64,${o.result}`, "generated"));
      }
    }
    if (Array.isArray(answer.candidates)) collectImages(answer.candidates, images, "generated");
  }
  return images.slice(0, MAX_IMAGES);
}

function remoteLink(url) {
  let parsed = null;
  try { parsed = new URL(url); } catch (_) { parsed = null; }
  if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) return null;
  return parsed.href;
}

function imageFigure(img, i) {
  const caption = `${img.label === "sent" ? "sent" : "generated"} image ${i + 1}`;
  const described = img.label && img.label !== "sent" && img.label !== "generated" ? img.label : caption;
  let shown;
  if (img.url && SAFE_IMAGE.test(img.url)) {
    shown = el("img", { src: img.url, alt: described, class: "call-image" });
  } else if (img.url && remoteLink(img.url)) {
    // not loaded: fetching it would tell its host who looked, and when; the link opens it on request
    shown = el("p", { class: "muted" }, "Remote image, not loaded: ",
      el("a", { href: remoteLink(img.url), target: "_blank", rel: "noopener noreferrer", referrerpolicy: "no-referrer",
                class: "remote-image" }, remoteLink(img.url).slice(0, 120)));
  } else {
    shown = el("p", { class: "muted unsafe-image" }, "Not shown: not a PNG, JPEG, GIF, WebP, AVIF or BMP image ",
      el("code", {}, String(img.url || "").slice(0, 60)));
  }
  return el("figure", { class: "image" }, shown, el("figcaption", { class: "muted" }, described === caption ? caption : `${caption}: ${described}`));
}

/** One content part as an inline image figure when it is an image part (the same safe rendering as
 * the Images section: a raster data: URL as a picture, a remote URL as a link, anything else as text),
 * else null. */
export function inlineImage(part, i) {
  const found = part && typeof part === "object" && !Array.isArray(part) ? collectImages([part], [], "sent") : [];
  return found.length === 1 ? imageFigure(found[0], i) : null;
}

export function imagesBlock(entry) {
  const images = entryImages(entry);
  if (!images.length) return null;
  return section(`Images (${images.length})`, el("div", { class: "images" }, images.map(imageFigure)));
}
