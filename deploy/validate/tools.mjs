#!/usr/bin/env node
// Fetches and builds, once, the offline validators the deployment tests use, into .cache/deploy-tools (or
// SLUICE_DEPLOY_TOOLS_DIR): kubeconform and helm built from the Go module proxy, the Kubernetes API schemas made from
// the k8s.io/kubernetes module's OpenAPI document (k8s-schemas.mjs), and the Compose specification's JSON Schema from
// the compose-go module. Needs Go and the Go module proxy; nothing else is downloaded.
//
//   node deploy/validate/tools.mjs          # prints a JSON object with the paths
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pinned versions (served by the Go module proxy and tried on Go 1.26). */
export const VERSIONS = {
  kubeconform: 'github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0',
  helm: 'helm.sh/helm/v4/cmd/helm@v4.3.2',
  kubernetes: 'k8s.io/kubernetes@v1.34.4',
  composeGo: 'github.com/compose-spec/compose-go/v2@v2.16.2',
};

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const here = fileURLToPath(new URL('.', import.meta.url));

/** Builds what is missing and returns the paths of the tools and schema folders. */
export function ensureTools(dir = process.env.SLUICE_DEPLOY_TOOLS_DIR || join(repoRoot, '.cache', 'deploy-tools')) {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const env = { ...process.env, GOBIN: bin, GOFLAGS: '-mod=mod' };
  const go = (args) => execFileSync('go', args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const tool of ['kubeconform', 'helm']) {
    if (!existsSync(join(bin, tool))) {
      process.stderr.write(`deploy-tools: go install ${VERSIONS[tool]}\n`);
      go(['install', VERSIONS[tool]]);
    }
  }
  const k8sSchemas = join(dir, `k8s-schemas-${VERSIONS.kubernetes.split('@')[1]}`);
  if (!existsSync(k8sSchemas)) {
    process.stderr.write(`deploy-tools: go mod download ${VERSIONS.kubernetes}\n`);
    const { Dir } = JSON.parse(go(['mod', 'download', '-json', VERSIONS.kubernetes]));
    rmSync(`${k8sSchemas}.tmp`, { recursive: true, force: true });
    execFileSync(process.execPath, [join(here, 'k8s-schemas.mjs'), join(Dir, 'api', 'openapi-spec', 'swagger.json'), `${k8sSchemas}.tmp`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    renameSync(`${k8sSchemas}.tmp`, k8sSchemas);
  }
  const composeSchema = join(dir, 'compose-spec.json');
  if (!existsSync(composeSchema)) {
    process.stderr.write(`deploy-tools: go mod download ${VERSIONS.composeGo}\n`);
    const { Dir } = JSON.parse(go(['mod', 'download', '-json', VERSIONS.composeGo]));
    cpSync(join(Dir, 'schema', 'compose-spec.json'), composeSchema);
  }
  return { kubeconform: join(bin, 'kubeconform'), helm: join(bin, 'helm'), k8sSchemas, composeSchema };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(ensureTools(), null, 2)}\n`);
}
