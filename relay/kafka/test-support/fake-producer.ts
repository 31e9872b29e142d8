import type { OutRecord, Producer } from '../src/index.js';

/**
 * A fake Producer below the adapter for unit tests: records each request and answers it when the
 * test calls its `release` (rejecting while `setFail(true)`), so a test decides every outcome.
 */
export function fakeProducer() {
  const requests: OutRecord[][] = [];
  const release: (() => void)[] = [];
  let fail = false;
  let written = 0;
  const producer: Producer = {
    send: (records) =>
      new Promise<readonly number[]>((resolve, reject) => {
        requests.push([...records]);
        release.push(() => (fail ? reject(new Error('broker down')) : resolve(records.map(() => written++))));
      }),
    close: async () => {},
  };
  /** Resolves once a request waits for its answer. */
  const nextRequest = async () => {
    while (release.length === 0) await new Promise((r) => setTimeout(r, 1));
  };
  /** Each request's record keys, in the order sent: what most assertions compare. */
  const keys = () => requests.map((r) => r.map((x) => x.key));
  return { producer, requests, release, nextRequest, keys, setFail: (f: boolean) => (fail = f) };
}
