/**
 * Runs `fn(i)` for i = 0..count−1, starting at most `ratePerSec` per second with at most
 * `concurrency` in flight (e.g. the connect phase: no thundering herd on the relays). Resolves
 * when all have settled or `stopped()` turns true; failures are returned, not thrown.
 */
export async function runPaced(
  count: number,
  ratePerSec: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
  stopped: () => boolean = () => false,
): Promise<{ index: number; error: unknown }[]> {
  const failures: { index: number; error: unknown }[] = [];
  const startMs = performance.now();
  const spacingMs = 1000 / ratePerSec;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count && !stopped()) {
      const i = next++;
      const waitMs = startMs + i * spacingMs - performance.now();
      if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
      try {
        await fn(i);
      } catch (error) {
        failures.push({ index: i, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane));
  return failures;
}
