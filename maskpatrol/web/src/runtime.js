// onnxruntime-web, set up to work with no internet: its WebAssembly binary comes from the
// app's own static folder (gzip-compressed there, unpacked here), one thread (no
// SharedArrayBuffer, so no cross-origin-isolation headers needed), no proxy worker.
import * as ort from "onnxruntime-web/wasm";

let ready = null;

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url} (HTTP ${response.status})`);
  if (!url.endsWith(".gz")) return response.arrayBuffer();
  const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/** Prepare the runtime once per page; `wasmUrl` points at ort-wasm-simd-threaded.wasm.gz. */
export function initRuntime(wasmUrl) {
  if (!ready) {
    ready = (async () => {
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      ort.env.wasm.wasmBinary = await fetchBytes(wasmUrl);
      ort.env.logLevel = "error";
    })();
    ready.catch(() => { ready = null; });  // a failed download may be retried
  }
  return ready;
}

/** An inference session for the model at `url` (after initRuntime). */
export async function createSession(url) {
  const bytes = await fetchBytes(url);
  return ort.InferenceSession.create(new Uint8Array(bytes), {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
}

export const Tensor = ort.Tensor;
