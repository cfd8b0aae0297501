export { JobQueue, type JobRecord, type JobState } from './job-queue.js';
export {
  CONCURRENCY_ANNOTATION,
  JOBSINK_EVENT_ENV,
  JOBSINK_EVENT_PATH,
  JOBSINK_ROUTE,
  JobSinkComponent,
  MAX_PENDING_ANNOTATION,
  intAnnotation,
  jobLocation,
  jobSinkUrl,
  jobWorkload,
} from './jobsink-component.js';
export { jobSinkChecks, jobSinkComponents, jobSinkPlugin } from './plugin.js';
