// Proving that one slow answer blocks nothing else: fetch it, and keep asking other URLs until it is complete. The
// off-thread tests (Butane, iPXE templates) then look at what was answered before the slow one was done.

export interface Timed {
  status: number;
  body: string;
  /** performance.now() when the answer was complete. */
  doneAt: number;
  ms: number;
}

export async function timedFetch(url: string): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  const doneAt = performance.now();
  return { status: response.status, body, doneAt, ms: doneAt - started };
}

/** The slow answer, and every probe answered (in turn, one after another) before it was complete. */
export async function answeredWhile(slowUrl: string, probeUrls: readonly string[]): Promise<{ slow: Timed; before: Timed[] }> {
  let slowDoneAt: number | undefined;
  const slow = timedFetch(slowUrl).then((answer) => {
    slowDoneAt = answer.doneAt;
    return answer;
  });
  const probes: Timed[] = [];
  while (slowDoneAt === undefined) for (const url of probeUrls) probes.push(await timedFetch(url));
  const answer = await slow;
  return { slow: answer, before: probes.filter((probe) => probe.doneAt < answer.doneAt) };
}
