export { runJob, JobRunner, type JobRunInput, type JobRunResult, type JobReporter, type Annotation } from "./job-runner.js";
export { shellCommand } from "./shell.js";
export { createWorkRoot, processAlive, removeAbandonedWorkRoots } from "./work-root.js";
