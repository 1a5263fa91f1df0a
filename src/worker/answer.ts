// The worker side of WorkerPool: import this in a worker module and hand it the function to run per task.
// Errors thrown by the handler go back to the caller as rejections; the worker stays up for the next task.
import type { TaskEnvelope, TaskReply } from "./pool.ts";

interface WorkerScope {
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  postMessage(message: unknown): void;
}

export function answerTasks<Request, Response>(handle: (request: Request) => Response | Promise<Response>): void {
  const scope = globalThis as unknown as WorkerScope;
  scope.addEventListener("message", async (event: MessageEvent<TaskEnvelope<Request>>) => {
    const { id, request } = event.data;
    let reply: TaskReply<Response>;
    try {
      reply = { id, ok: true, response: await handle(request) };
    } catch (error) {
      reply = { id, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    scope.postMessage(reply);
  });
}
