// A ticking "now" for live countdowns. Create it in a component's setup: it ticks while the
// component is mounted and stops with it.

export function createClock(intervalMs = 1000): { readonly now: number } {
  let now = $state(Date.now());
  $effect(() => {
    const timer = setInterval(() => (now = Date.now()), intervalMs);
    return () => clearInterval(timer);
  });
  return {
    get now() {
      return now;
    },
  };
}
