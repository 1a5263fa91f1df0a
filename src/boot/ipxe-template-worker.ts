// Worker entry: parses custom iPXE script templates off the serving thread (see workerIpxeTemplateParser in
// boot/ipxe-scripts.ts). Listed in scripts/build.ts so the compiled binary contains it.
import { answerTasks } from "../worker/answer.ts";
import { type ParsedTemplate, type ParseTemplateRequest, runParseTemplateTask } from "./ipxe-template-task.ts";

answerTasks<ParseTemplateRequest, ParsedTemplate>(runParseTemplateTask);
