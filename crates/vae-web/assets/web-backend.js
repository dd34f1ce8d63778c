// The WebAssembly backend of a page written by `vae export-web`: the library's own decoder and
// encoder compiled to WebAssembly (crates/vae-web), answering what `vae serve` answers over HTTP.
// The module and the model arrive as scripts (window.VAE_WASM, window.VAE_MODEL), gzip then
// base64, because a page opened from disk may not fetch the files beside it.
"use strict";
window.vaeWebBackend = (() => {
  const encoder = new TextEncoder(), decoder = new TextDecoder();
  const none = new Uint8Array(0);
  let wasm = null, info = null;

  function base64Bytes(text) {
    const raw = atob(text), bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
  async function gunzip(text) {
    const stream = new Blob([base64Bytes(text)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // Copies bytes into the module's memory: [pointer, length]. Free them with vae_free.
  function put(bytes) {
    const pointer = wasm.vae_alloc(bytes.length);
    if (pointer === 0) throw new Error("the WebAssembly module is out of memory");
    new Uint8Array(wasm.memory.buffer, pointer, bytes.length).set(bytes);
    return [pointer, bytes.length];
  }
  // Runs a call with inputs copied in, frees them, and returns its answer's bytes (a copy), or
  // throws its error message.
  function call(name, inputs, extra) {
    const placed = inputs.map(put);
    try {
      const code = wasm[name](...placed.flatMap(([p, n], i) => inputs[i].isFloats ? [p, n / 4] : [p, n]), ...extra);
      const answer = new Uint8Array(wasm.memory.buffer, wasm.vae_result_ptr(), wasm.vae_result_len()).slice();
      if (code !== 0) throw new Error(decoder.decode(answer));
      return answer;
    } finally {
      placed.forEach(([p, n]) => wasm.vae_free(p, n));
    }
  }
  function floatInput(values) {
    const bytes = new Uint8Array(Float32Array.from(values).buffer);
    bytes.isFloats = true;
    return bytes;
  }
  const floats = (bytes) => new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const json = (bytes) => JSON.parse(decoder.decode(bytes));

  const ready = (async () => {
    const module = await WebAssembly.instantiate(await gunzip(window.VAE_WASM), {});
    wasm = module.instance.exports;
    const m = window.VAE_MODEL;
    const inputs = [
      encoder.encode(m.run.config), await gunzip(m.run.weights),
      m.m1 ? encoder.encode(m.m1.config) : none, m.m1 ? await gunzip(m.m1.weights) : none,
      encoder.encode(JSON.stringify(m.about)),
    ];
    call("vae_load", inputs, []);
    info = json(call("vae_info", [], []));
  })();

  // Images in [0, 1], channel-last, as a PNG data URL, `columns` per row (as vae serve tiles them).
  function imageURL(pixels, columns) {
    const { height, width, channels } = info.image;
    const count = pixels.length / (height * width * channels);
    if (!Number.isInteger(count) || count < 1) throw new Error("the module answered " + pixels.length + " values, not whole images");
    const canvas = document.createElement("canvas");
    canvas.width = width * columns;
    canvas.height = height * Math.ceil(count / columns);
    const context = canvas.getContext("2d");
    const image = context.createImageData(canvas.width, canvas.height);
    const byte = (v) => Math.round(Math.min(1, Math.max(0, v)) * 255);
    for (let n = 0; n < count; n++) {
      const left = (n % columns) * width, top = Math.floor(n / columns) * height;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const from = ((n * height + y) * width + x) * channels;
          const to = ((top + y) * canvas.width + left + x) * 4;
          for (let c = 0; c < 3; c++) image.data[to + c] = byte(pixels[from + (channels === 3 ? c : 0)]);
          image.data[to + 3] = 255;
        }
      }
    }
    context.putImageData(image, 0, 0);
    return canvas.toDataURL();
  }

  const label = (l) => (l === null || l === undefined ? -1 : l);
  return {
    ready,
    info: async () => { await ready; return info; },
    // The decoded pixels themselves, for a caller that wants numbers rather than a picture.
    decodePixels: async (z, l) => { await ready; return floats(call("vae_decode", [floatInput(z)], [label(l)])); },
    decode: async (z, l) => { await ready; return imageURL(floats(call("vae_decode", [floatInput(z)], [label(l)])), 1); },
    encode: async (pixels, l) => {
      await ready;
      const answer = json(call("vae_encode", [floatInput(pixels)], [label(l)]));
      answer.reconstruction_png = imageURL(answer.reconstruction, 1);
      return answer;
    },
    manifold: async (grid, l) => { await ready; return imageURL(floats(call("vae_manifold", [], [grid, label(l)])), grid); },
  };
})();
