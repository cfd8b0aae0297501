// Unit tests of the GitHub/GitLab → CloudEvent attribute mapping (Knative's adapters' rules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { githubSubjectAndExtensions, gitlabEventSource } from '../src/index.js';

const repo = { repository: { id: 7, name: 'hello', owner: { login: 'octo' } }, sender: { login: 'mona' } };

test('GitHub subjects and extensions per event', () => {
  assert.deepEqual(githubSubjectAndExtensions('pull_request', { ...repo, action: 'opened', number: 5, pull_request: { number: 5 }, label: { name: 'bug' } }), {
    subject: '5',
    extensions: { owner: 'octo', repository: 'hello', sender: 'mona', action: 'opened', number: 5, label: 'bug' },
  });
  assert.equal(githubSubjectAndExtensions('issue_comment', { ...repo, comment: { html_url: 'https://github.com/octo/hello/issues/2#issuecomment-393304133' } })?.subject, '2#issuecomment-393304133');
  assert.equal(githubSubjectAndExtensions('release', { ...repo, release: { tag_name: 'v1.0', name: 'One' } })?.extensions['release'], 'One');
  assert.equal(githubSubjectAndExtensions('ping', { ...repo, hook_id: 99 })?.subject, '99');
  assert.equal(githubSubjectAndExtensions('organization', { action: 'member_added', organization: { login: 'org' }, sender: { login: 'x' } })?.extensions['owner'], 'org');
  // An event Knative's adapter does not map, or a payload without the subject's field, is unsupported.
  assert.equal(githubSubjectAndExtensions('workflow_run', repo), undefined);
  assert.equal(githubSubjectAndExtensions('push', repo), undefined);
});

test('GitLab event sources by hook', () => {
  assert.equal(gitlabEventSource('Push Hook', { project: { http_url: 'https://gitlab.com/g/p.git' } }), 'https://gitlab.com/g/p.git');
  assert.equal(gitlabEventSource('Merge Request Hook', { object_attributes: { url: 'https://gitlab.com/g/p/-/merge_requests/1' } }), 'https://gitlab.com/g/p/-/merge_requests/1');
  assert.equal(gitlabEventSource('Job Hook', { repository: { homepage: 'https://gitlab.com/g/p' } }), 'https://gitlab.com/g/p');
  assert.equal(gitlabEventSource('Release Hook', {}), undefined);
});
