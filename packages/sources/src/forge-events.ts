import type { AttributeValue } from '@sluice/core';

// How Knative's GitHubSource and GitLabSource turn a forge's webhook into CloudEvent attributes (eventing-github's
// `SubjectAndExtensionsFromGitHubEvent`, eventing-gitlab's `sourceFromGitLabEvent`), on the raw JSON payload.

type Json = Record<string, unknown>;

function at(payload: unknown, path: string): unknown {
  let v: unknown = payload;
  for (const seg of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Json)[seg];
  }
  return v;
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** The part after the last `/` of a URL (`…/compare/a...b` → `a...b`, `…/issues/2#issuecomment-3` → `2#issuecomment-3`). */
function lastPathPortion(url: unknown): string | undefined {
  const s = text(url);
  if (s === undefined) return undefined;
  return s.slice(s.lastIndexOf('/') + 1);
}

/** Event types a GitHubSource may list (the CRD's enum). */
export const GITHUB_EVENT_TYPES: readonly string[] = [
  'check_suite',
  'commit_comment',
  'create',
  'delete',
  'deployment',
  'deployment_status',
  'fork',
  'gollum',
  'installation',
  'integration_installation',
  'issue_comment',
  'issues',
  'label',
  'member',
  'membership',
  'milestone',
  'organization',
  'org_block',
  'page_build',
  'ping',
  'project_card',
  'project_column',
  'project',
  'public',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'push',
  'release',
  'repository',
  'status',
  'team',
  'team_add',
  'watch',
];

/** The subject of each GitHub event, as Knative's adapter computes it; events not listed are unsupported there. */
const GITHUB_SUBJECT: Readonly<Record<string, (p: unknown) => string | undefined>> = {
  check_run: (p) => text(at(p, 'check_run.id')),
  check_suite: (p) => text(at(p, 'check_suite.id')),
  commit_comment: (p) => lastPathPortion(at(p, 'comment.html_url')),
  create: (p) => text(at(p, 'ref_type')),
  delete: (p) => text(at(p, 'ref_type')),
  deployment: (p) => text(at(p, 'deployment.id')),
  deployment_status: (p) => text(at(p, 'deployment.id')),
  fork: (p) => text(at(p, 'forkee.id')),
  gollum: (p) => {
    const pages = at(p, 'pages');
    return Array.isArray(pages) ? pages.map((x) => text(at(x, 'page_name')) ?? '').join(',') : undefined;
  },
  installation: (p) => text(at(p, 'installation.id')),
  integration_installation: (p) => text(at(p, 'installation.id')),
  installation_repositories: (p) => text(at(p, 'installation.id')),
  integration_installation_repositories: (p) => text(at(p, 'installation.id')),
  issue_comment: (p) => lastPathPortion(at(p, 'comment.html_url')),
  issues: (p) => text(at(p, 'issue.number')),
  label: (p) => text(at(p, 'label.name')),
  member: (p) => text(at(p, 'member.id')),
  membership: (p) => text(at(p, 'member.id')),
  milestone: (p) => text(at(p, 'milestone.number')),
  organization: (p) => text(at(p, 'action')),
  org_block: (p) => text(at(p, 'action')),
  page_build: (p) => text(at(p, 'id')),
  ping: (p) => text(at(p, 'hook_id')),
  project_card: (p) => text(at(p, 'action')),
  project_column: (p) => text(at(p, 'action')),
  project: (p) => text(at(p, 'action')),
  public: (p) => text(at(p, 'repository.id')),
  pull_request: (p) => text(at(p, 'pull_request.number')),
  pull_request_review_comment: (p) => text(at(p, 'comment.id')),
  pull_request_review: (p) => text(at(p, 'review.id')),
  push: (p) => lastPathPortion(at(p, 'compare')),
  release: (p) => text(at(p, 'release.tag_name')),
  repository: (p) => text(at(p, 'repository.id')),
  repository_vulnerability_alert: (p) => text(at(p, 'alert.id')),
  security_advisory: (p) => text(at(p, 'security_advisory.ghsa_id')),
  status: (p) => text(at(p, 'sha')),
  team: (p) => text(at(p, 'team.id')),
  team_add: (p) => text(at(p, 'repository.id')),
  watch: (p) => text(at(p, 'repository.id')),
};

/** Extensions some GitHub events carry in Knative, beyond the common ones. */
const GITHUB_EXTRA: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  create: { ref: 'ref' },
  delete: { ref: 'ref' },
  issues: { label: 'label.name', assignee: 'assignee.login' },
  label: { label: 'label.name' },
  membership: { scope: 'scope' },
  pull_request: { number: 'number', label: 'label.name', assignee: 'assignee.login' },
  pull_request_review: { review: 'review.state' },
  push: { pusher: 'pusher.name', ref: 'ref', created: 'created', deleted: 'deleted', forced: 'forced' },
  release: { release: 'release.name' },
  status: { state: 'state', name: 'name', context: 'context' },
};

/**
 * Subject and extensions of a GitHub event as Knative sets them, or undefined for an event type Knative's adapter
 * does not support. Common extensions: `owner` (repository owner, else organization), `repository`, `sender`,
 * `action`, `installation` (when the payload has them).
 */
export function githubSubjectAndExtensions(event: string, payload: unknown): { subject: string; extensions: Record<string, AttributeValue> } | undefined {
  const subjectOf = GITHUB_SUBJECT[event];
  const subject = subjectOf?.(payload);
  if (subject === undefined || subject === '') return undefined;
  const ext: Record<string, AttributeValue> = {};
  const set = (name: string, v: unknown): void => {
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v))) ext[name] = v;
  };
  set('owner', at(payload, 'repository.owner.login') ?? at(payload, 'organization.login'));
  set('repository', at(payload, 'repository.name'));
  set('sender', at(payload, 'sender.login'));
  set('action', at(payload, 'action'));
  set('installation', at(payload, 'installation.id'));
  for (const [name, path] of Object.entries(GITHUB_EXTRA[event] ?? {})) set(name, at(payload, path));
  return { subject, extensions: ext };
}

/** GitLab's `X-Gitlab-Event` values Knative's adapter accepts, and the webhook attribute (`eventTypes`) each is. */
export const GITLAB_EVENTS: Readonly<Record<string, string>> = {
  'Push Hook': 'push_events',
  'Tag Push Hook': 'tag_push_events',
  'Issue Hook': 'issues_events',
  'Confidential Issue Hook': 'confidential_issues_events',
  'Note Hook': 'note_events',
  'Merge Request Hook': 'merge_requests_events',
  'Wiki Page Hook': 'wiki_page_events',
  'Pipeline Hook': 'pipeline_events',
  'Job Hook': 'job_events',
  // GitLab's older name of the job event, the one Knative's webhook library matches.
  'Build Hook': 'job_events',
};

/** The `source` of a GitLab event, as Knative's adapter derives it from the payload. */
export function gitlabEventSource(event: string, payload: unknown): string | undefined {
  switch (event) {
    case 'Push Hook':
    case 'Tag Push Hook':
    case 'Pipeline Hook':
      return text(at(payload, 'project.http_url')) ?? text(at(payload, 'project.git_http_url'));
    case 'Issue Hook':
    case 'Confidential Issue Hook':
    case 'Note Hook':
    case 'Merge Request Hook':
    case 'Wiki Page Hook':
      return text(at(payload, 'object_attributes.url'));
    case 'Job Hook':
    case 'Build Hook':
      return text(at(payload, 'repository.homepage'));
    default:
      return undefined;
  }
}
