// A worker for the WorkerPool tests: answers, sleeps, spins, throws or dies on request.
import { answerTasks } from "../../../src/worker/answer.ts";

export type FixtureTask = { echo: string } | { spinMs: number } | { throw: string } | { crash: true };

answerTasks<FixtureTask, string>((task) => {
  if ("echo" in task) return `echo ${task.echo}`;
  if ("spinMs" in task) {
    const until = Date.now() + task.spinMs;
    while (Date.now() < until) {
      // Busy on purpose: a stuck parser does not yield to the event loop either.
    }
    return "spun";
  }
  if ("throw" in task) throw new Error(task.throw);
  setTimeout(() => {
    throw new Error("uncaught in worker");
  }, 0);
  return new Promise<string>(() => {});
});
