export { runJob, JobRunner, jobTimeoutMinutes, jobTimeoutMinutesOrDefault, type JobRunInput, type JobRunResult, type JobReporter, type Annotation } from "./job-runner.js";
export { shellCommand } from "./shell.js";
export { createStepFilesRoot, createWorkRoot, processAlive, removeAbandonedWorkRoots } from "./work-root.js";
export { escapeData, escapeProperty } from "./workflow-commands.js";
