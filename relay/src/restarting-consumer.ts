import type { ConsumerHandlers, GroupConsumer } from '../kafka/src/index.js';

export interface RestartingConsumer extends GroupConsumer {
  /** True from a crash or a lost membership until the consumer has joined again: the relay does not serve meanwhile (GET /readyz). */
  readonly down: boolean;
}

/**
 * A group consumer that comes back after it crashes. The adapters give up after riding out about
 * a minute of trouble (a Kafka outage, say), and a relay whose router stopped for good would
 * never deliver again. So the crashed consumer is stopped and, after `pauseMs`, a new one joins;
 * until one has, `down` is true. The relay's consumers never commit, so a new one reads its
 * partitions from the start, as after any rebalance. The first start is not retried: a relay
 * that cannot join at all fails to start, with its error.
 */
export function restartingConsumer(make: () => GroupConsumer, log: (line: string) => void, pauseMs = 2000): RestartingConsumer {
  let current: GroupConsumer | null = null;
  /** The caller's handlers, wrapped once: every consumer made gets the same ones. */
  let handlers: ConsumerHandlers | null = null;
  let down = false;
  let stopped = false;

  const wrapped = (h: ConsumerHandlers): ConsumerHandlers => ({
    ...h,
    onAssigned: (a) => {
      down = false;
      h.onAssigned?.(a);
    },
    onRevoked: (reason) => {
      down = true;
      h.onRevoked?.(reason);
    },
    onCrash: (e) => {
      h.onCrash?.(e);
      down = true;
      void restart();
    },
  });

  let restarting = false;
  const restart = async (): Promise<void> => {
    if (restarting) return;
    restarting = true;
    await current?.stop().catch(() => {});
    while (!stopped) {
      await new Promise((r) => setTimeout(r, pauseMs));
      if (stopped) break;
      current = make();
      try {
        await current.start(handlers!);
        log('consumer restarted after a crash');
        break;
      } catch (e) {
        log(`consumer restart failed (${e instanceof Error ? e.message : String(e)}); trying again`);
        await current.stop().catch(() => {});
      }
    }
    restarting = false;
  };

  return {
    get down() {
      return down;
    },
    async start(h: ConsumerHandlers): Promise<void> {
      handlers = wrapped(h);
      current = make();
      await current.start(handlers);
    },
    async stop(): Promise<void> {
      stopped = true;
      await current?.stop();
    },
  };
}
