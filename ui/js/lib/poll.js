/**
 * A poller: runs `tick()` now and then again after the delay `tick` returns (ms; null stops).
 * Pauses while the tab is hidden; `stop()` ends it and aborts nothing in flight itself —
 * callers pass the poller's `signal` to their requests.
 */
export function poll(tick) {
  let timer = null;
  let stopped = false;
  const controller = new AbortController();

  async function run() {
    timer = null;
    if (stopped) return;
    if (document.hidden) {
      document.addEventListener("visibilitychange", run, { once: true });
      return;
    }
    let delay = null;
    try {
      delay = await tick(controller.signal);
    } catch (error) {
      if (error.name === "AbortError") return;
      console.warn("poll failed; retrying", error);
      delay = 5000;
    }
    if (!stopped && delay != null) timer = setTimeout(run, delay);
  }

  run();
  return {
    signal: controller.signal,
    stop() {
      stopped = true;
      controller.abort();
      if (timer) clearTimeout(timer);
    },
    /** Run the next tick now (e.g. right after a user action). */
    now() {
      if (stopped) return;
      if (timer) clearTimeout(timer);
      run();
    },
    get stopped() {
      return stopped;
    },
  };
}
