// Worker entry: translates Butane documents off the serving thread (see ButaneWorkerTranslator in boot/ignition.ts).
// Listed in scripts/build.ts so the compiled binary contains it.
import { answerTasks } from "../../worker/answer.ts";
import { runTranslateTask, type TranslatedButane, type TranslateRequest } from "./translate-task.ts";

answerTasks<TranslateRequest, TranslatedButane>(runTranslateTask);
