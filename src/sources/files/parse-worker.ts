// Worker entry point: decodes one resource file per task, off the thread that answers machines. Started by
// FileParser (file-parser.ts); listed as an entry point in scripts/build.ts so the compiled binary contains it.
import { answerTasks } from "../../worker/answer.ts";
import { type DecodedFile, decodeResourceFile } from "./documents.ts";
import type { ParseTask } from "./file-parser.ts";

answerTasks<ParseTask, DecodedFile>((task) => decodeResourceFile(task.origin, task.text, task.limits));
