// The operations files in deploy/ are code: Prometheus' own tools check the scrape configuration and the
// rules and run the rules' unit tests, amtool checks the Alertmanager routing, every dashboard panel and
// rule is held against the metric names a running AllIN exports (a renamed metric breaks this test, not a
// dashboard), and the Compose file and Kubernetes manifests are validated against their schemas.
// promtool and amtool come from Debian's prometheus and prometheus-alertmanager packages (.ci/run installs them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse, parseAllDocuments } from 'yaml';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service, ConfigMap, Secret, Namespace, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { ROOT } from './support/process.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import {
  DEPLOY, RULE_FILES, readRules, allRules, recordingRuleNames, metricNames, exportedNames, readDashboards, allPanels,
  dashboardExpressions, PROMETHEUS_BUILTINS,
} from './support/promql.ts';

type Obj = Record<string, unknown>;

function tool(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { cwd: ROOT }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (e?.code === 'ENOENT') {
        rej(new Error(`${cmd} is not installed: apt-get install prometheus prometheus-alertmanager (.ci/run does)`));
        return;
      }
      res({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}
async function ok(cmd: string, ...args: string[]): Promise<string> {
  const r = await tool(cmd, args);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

const readYaml = (path: string) => parse(readFileSync(path, 'utf8'), { merge: true }) as Obj;
const operations = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
/** GitHub's anchor of each heading of docs/OPERATIONS.md. */
const anchors = new Set([...operations.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));

// ---------------------------------------------------------------------------------------------- Prometheus

test('promtool check config: the scrape configuration and the rule files it loads', async () => {
  const out = await ok('promtool', 'check', 'config', join(DEPLOY, 'prometheus', 'prometheus.yml'));
  assert.match(out, /SUCCESS: 2 rule files found/);
});

test('promtool check rules; every alert has a severity, a summary and a runbook section in docs/OPERATIONS.md', async () => {
  await ok('promtool', 'check', 'rules', ...RULE_FILES);
  const alerts = allRules().filter((r) => r.alert);
  assert.ok(alerts.length >= 15, `only ${alerts.length} alerts`);
  for (const a of alerts) {
    assert.ok(['critical', 'warning', 'info'].includes(a.labels?.severity ?? ''), `${a.alert}: severity`);
    assert.ok(a.annotations?.summary && a.annotations.description, `${a.alert}: summary and description`);
    const m = /^docs\/OPERATIONS\.md#(.+)$/.exec(a.annotations.runbook ?? '');
    assert.ok(m, `${a.alert}: runbook annotation`);
    assert.ok(anchors.has(m[1]!), `${a.alert}: docs/OPERATIONS.md has no section #${m[1]}`);
  }
  // What the issue asks the alerts to cover, by the metric each one reads.
  const read = new Set(alerts.flatMap((a) => [...metricNames(a.expr)]));
  for (const n of ['job:allin_http_requests_5xx:ratio_rate5m', 'job:allin_http_slow_requests:ratio_rate1h', 'allin_dependency_up', 'up',
    'job_instance:allin_db_pool_connections:in_use_ratio', 'allin_jobs_oldest_waiting_age_seconds', 'provider:allin_publish_failed:ratio_rate30m',
    'allin_social_accounts', 'allin_oauth_operations_total', 'allin_nodejs_eventloop_lag_p99_seconds', 'allin_process_resident_memory_bytes']) {
    assert.ok(read.has(n), `no alert reads ${n}`);
  }
});

test('promtool test rules: the unit tests pass, and every alert has one', async () => {
  const dir = join(DEPLOY, 'prometheus', 'tests');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml')).map((f) => join(dir, f));
  assert.ok(files.length > 0);
  const out = await ok('promtool', 'test', 'rules', ...files);
  assert.match(out, /SUCCESS/);
  const tested = new Set<string>();
  for (const f of files) {
    const doc = readYaml(f) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
    for (const t of doc.tests) for (const a of t.alert_rule_test ?? []) if ((a.exp_alerts ?? []).length > 0) tested.add(a.alertname);
  }
  const untested = allRules().filter((r) => r.alert && !tested.has(r.alert)).map((r) => r.alert);
  assert.deepEqual(untested, [], 'alerts without a unit test that makes them fire');
});

test('promtool test rules fails when a rule is wrong (the tests do test)', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'allin-rules-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const alerts = readFileSync(RULE_FILES[1]!, 'utf8').replace('job:allin_http_requests_5xx:ratio_rate5m > 0.05', 'job:allin_http_requests_5xx:ratio_rate5m > 0.5');
  writeFileSync(join(tmp, 'allin-alerts.yml'), alerts);
  writeFileSync(join(tmp, 'allin-recording.yml'), readFileSync(RULE_FILES[0]!, 'utf8'));
  writeFileSync(join(tmp, 'tests.yml'), readFileSync(join(DEPLOY, 'prometheus', 'tests', 'alerts.test.yml'), 'utf8').replaceAll('../rules/', ''));
  const r = await tool('promtool', ['test', 'rules', join(tmp, 'tests.yml')]);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /AllinHigh5xxRatio/);
});

// ------------------------------------------------------------------------------------------- Alertmanager

test('amtool check-config; each severity is routed to its receiver', async () => {
  const file = join(DEPLOY, 'alertmanager', 'alertmanager.yml');
  await ok('amtool', 'check-config', file);
  for (const [severity, receiver] of [['critical', 'oncall'], ['warning', 'team'], ['info', 'digest']]) {
    await ok('amtool', 'config', 'routes', 'test', `--config.file=${file}`, `--verify.receivers=${receiver}`, `severity=${severity}`, 'alertname=AllinSomething');
  }
  // Every severity the rules use has a route.
  const routes = (readYaml(file).route as { routes: { matchers: string[] }[] }).routes.flatMap((r) => r.matchers);
  for (const s of new Set(allRules().flatMap((r) => (r.labels?.severity ? [r.labels.severity] : [])))) {
    assert.ok(routes.includes(`severity="${s}"`), `no route for severity ${s}`);
  }
});

// ---------------------------------------------------------------------- metric names, against a real AllIN

let app: TestApp;
let exported: Set<string>;
const scrape = async () => (await app.call('GET', '/metrics')).body as string;

before(async () => {
  app = await startTestApp({}, 'start');
  // One request through a route so every family has been touched once; names come from # TYPE lines anyway.
  await app.call('GET', '/api/health');
  exported = exportedNames(await scrape());
});
after(() => app?.stop());

test('the name extractor finds metric names and nothing else', () => {
  assert.deepEqual([...metricNames('histogram_quantile(0.95, sum by (le, route) (rate(allin_http_request_duration_seconds_bucket{job=~"$job", route!~"/health|x"}[$__rate_interval])))')],
    ['allin_http_request_duration_seconds_bucket']);
  assert.deepEqual([...metricNames('max(a_b offset 1h) - max(c:d:e) > 1.2e9 and on (job) up == bool 0')].sort(), ['a_b', 'c:d:e', 'up']);
  assert.deepEqual([...metricNames('time() - allin_worker_heartbeat_timestamp_seconds{instance=~"$instance"}')], ['allin_worker_heartbeat_timestamp_seconds']);
});

test('every dashboard panel and every rule reads only metrics the server exports (or recording rules)', () => {
  const known = new Set([...exported, ...recordingRuleNames(), ...PROMETHEUS_BUILTINS]);
  const missing: string[] = [];
  let checked = 0;
  for (const d of readDashboards()) {
    for (const { where, expr } of dashboardExpressions(d)) {
      const names = metricNames(expr);
      assert.ok(names.size > 0, `${where}: no metric in ${expr}`);
      for (const n of names) {
        checked++;
        if (!known.has(n)) missing.push(`${where}: ${n}`);
      }
    }
  }
  for (const r of allRules()) {
    for (const n of metricNames(r.expr)) {
      checked++;
      if (!known.has(n)) missing.push(`rule ${r.record ?? r.alert}: ${n}`);
    }
  }
  assert.deepEqual(missing, [], 'metric names that /metrics does not export');
  assert.ok(checked > 150, `only ${checked} references checked`);
  // And the check can fail: names AllIN does not export are not in the set (a request counter without
  // the allin_ prefix, a _total on the duration histogram).
  assert.ok(!known.has('http_requests_total') && !known.has('allin_http_request_duration_seconds_total'));
});

test('every recording rule is used by a dashboard or an alert', () => {
  const used = new Set([
    ...readDashboards().flatMap((d) => dashboardExpressions(d).flatMap((e) => [...metricNames(e.expr)])),
    ...allRules().flatMap((r) => [...metricNames(r.expr)]),
  ]);
  const unused = [...recordingRuleNames()].filter((n) => !used.has(n)
    // the SLO windows are read in pairs by the burn-rate alerts; job:…:p50/p95/p99 are for ad-hoc queries (docs)
    && !n.startsWith('job:allin_http_request_duration_seconds:') && !n.startsWith('job_route:allin_http_requests:')
    && !n.startsWith('job_status_code:') && !n.startsWith('job:allin_http_requests:') && !n.startsWith('provider_outcome:') && !n.startsWith('job:allin_db_query_duration_seconds:'));
  assert.deepEqual(unused, []);
});

test('allin_social_accounts counts connected accounts by network and status, read at scrape time', async () => {
  const pool = app.running.pool;
  const { rows: [ws] } = await pool.query<{ id: string }>(`insert into workspaces (name) values ('ops metrics') returning id`);
  const add = (status: string, n: number) => Promise.all(Array.from({ length: n }, () => pool.query(
    `insert into social_accounts (id, workspace_id, provider, external_id, kind, username, display_name, status)
     values ($1, $2, 'mastodon', $3, 'person', 'u', 'U', $4)`, [randomUUID(), ws!.id, randomUUID(), status])));
  await add('active', 3);
  await add('needs_reconnect', 2);
  const text = await scrape();
  assert.match(text, /^allin_social_accounts\{provider="mastodon",status="active"\} 3$/m);
  assert.match(text, /^allin_social_accounts\{provider="mastodon",status="needs_reconnect"\} 2$/m);
  assert.match(text, /^allin_social_accounts\{provider="mastodon",status="disconnected"\} 0$/m);
  await pool.query(`update social_accounts set status = 'active' where workspace_id = $1`, [ws!.id]);
  assert.match(await scrape(), /^allin_social_accounts\{provider="mastodon",status="needs_reconnect"\} 0$/m);
  await pool.query('delete from workspaces where id = $1', [ws!.id]);
});

// ------------------------------------------------------------------------------------------------ Grafana

test('dashboards: the six of them, well-formed, on the provisioned data source, laid out on the grid', () => {
  const ds = readYaml(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml')) as { datasources: { uid: string; url: string }[] };
  const dsUid = ds.datasources[0]!.uid;
  const dashboards = readDashboards();
  assert.deepEqual(dashboards.map((d) => d.json.uid).sort(),
    ['allin-auth', 'allin-cache', 'allin-database', 'allin-overview', 'allin-publishing', 'allin-runtime']);
  for (const d of dashboards) {
    const ids = new Set<number>();
    for (const p of allPanels(d)) {
      assert.ok(!ids.has(p.id), `${d.json.uid}: duplicate panel id ${p.id}`);
      ids.add(p.id);
      assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${d.json.uid} / ${p.title}: outside the grid`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, dsUid, `${d.json.uid} / ${p.title}: data source`);
      assert.ok((p.targets ?? []).length > 0, `${d.json.uid} / ${p.title}: no query`);
      for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, dsUid);
    }
  }
  // What the issue lists for each dashboard, by the metrics their panels read.
  const reads = (uid: string) => new Set(dashboardExpressions(dashboards.find((d) => d.json.uid === uid)!).flatMap((e) => [...metricNames(e.expr)]));
  const expect: Record<string, string[]> = {
    'allin-overview': ['allin_http_requests_total', 'job:allin_http_requests_5xx:ratio_rate5m', 'job_route:allin_http_request_duration_seconds:p50_rate5m',
      'job_route:allin_http_request_duration_seconds:p95_rate5m', 'job_route:allin_http_request_duration_seconds:p99_rate5m', 'allin_active_connections'],
    'allin-auth': ['allin_http_requests_total', 'allin_oauth_operations_total'],
    'allin-publishing': ['allin_jobs_waiting', 'allin_jobs_oldest_waiting_age_seconds', 'allin_publish_total', 'allin_social_accounts',
      'allin_inbox_collection_lag_seconds_bucket', 'allin_inbox_backlog', 'allin_inbox_backlog_oldest_seconds', 'allin_inbox_replies_total'],
    'allin-cache': ['allin_cache_hits_total', 'allin_cache_misses_total'],
    'allin-database': ['allin_db_queries_total', 'allin_db_query_duration_seconds_bucket', 'allin_db_pool_connections'],
    'allin-runtime': ['allin_process_cpu_seconds_total', 'allin_process_resident_memory_bytes', 'allin_nodejs_eventloop_lag_p99_seconds', 'allin_nodejs_heap_size_used_bytes'],
  };
  for (const [uid, names] of Object.entries(expect)) for (const n of names) assert.ok(reads(uid).has(n), `${uid} does not show ${n}`);
});

// ---------------------------------------------------------------------------------------------- Compose

test('compose.yaml: valid against the Compose Specification schema, and wired together', () => {
  const schema = JSON.parse(readFileSync(join(DEPLOY, 'schemas', 'compose-spec.json'), 'utf8')) as Obj;
  delete schema.$schema; // draft-07, Ajv's default; the https form of the meta-schema id is not registered
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  const compose = readYaml(join(DEPLOY, 'compose.yaml'));
  assert.ok(validate(compose), ajv.errorsText(validate.errors, { separator: '\n' }));
  // The schema does refuse a broken file.
  assert.equal(validate({ services: { api: { image: 'x', ports: 7000, restart: ['always'] } } }), false);

  const services = compose.services as Record<string, Obj>;
  for (const s of ['postgres', 'redis', 'api-1', 'api-2', 'worker-1', 'worker-2', 'prometheus', 'grafana', 'alertmanager', 'cadvisor']) {
    assert.ok(services[s], `no service ${s}`);
  }
  const byCommand = (c: string) => Object.keys(services).filter((k) => JSON.stringify(services[k]!.command) === JSON.stringify([c])).sort();
  assert.deepEqual(byCommand('serve'), ['api-1', 'api-2']);
  assert.deepEqual(byCommand('worker'), ['worker-1', 'worker-2']);
  for (const s of [...byCommand('serve'), ...byCommand('worker')]) {
    const env = services[s]!.environment as Record<string, string>;
    assert.match(env.DATABASE_URL!, /@postgres:5432\//, `${s}: shared PostgreSQL`);
    assert.equal(env.REDIS_URL, 'redis://redis:6379', `${s}: shared Redis`);
    assert.match(JSON.stringify((services[s]!.healthcheck as Obj).test), /\/api\/health/);
  }

  // Prometheus scrapes exactly those processes, on the ports they listen on, and alerts the Alertmanager.
  const prom = readYaml(join(DEPLOY, 'prometheus', 'prometheus.yml')) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[]; alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  };
  const targets = (job: string) => prom.scrape_configs.find((c) => c.job_name === job)!.static_configs.flatMap((c) => c.targets).sort();
  assert.deepEqual(targets('allin-api'), byCommand('serve').map((s) => `${s}:7000`));
  assert.deepEqual(targets('allin-worker'), byCommand('worker').map((s) => `${s}:7001`));
  assert.deepEqual(prom.alerting.alertmanagers[0]!.static_configs[0]!.targets, ['alertmanager:9093']);
  assert.deepEqual(targets('cadvisor'), ['cadvisor:8080']);

  // Every file mounted from the repository exists, and Grafana loads the dashboards from where they are mounted.
  for (const [name, s] of Object.entries(services)) {
    for (const v of (s.volumes ?? []) as string[]) {
      const src = v.split(':')[0]!;
      if (src.startsWith('./')) assert.ok(existsSync(resolve(DEPLOY, src)), `${name}: ${src} does not exist`);
    }
    const build = s.build as { context: string; dockerfile: string } | undefined;
    if (build) assert.ok(existsSync(resolve(DEPLOY, build.context, build.dockerfile)), `${name}: no ${build.dockerfile}`);
  }
  const dashMount = (services.grafana!.volumes as string[]).find((v) => v.startsWith('./grafana/dashboards:'))!.split(':')[1];
  const provider = readYaml(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'allin.yml')) as { providers: { options: { path: string } }[] };
  assert.equal(provider.providers[0]!.options.path, dashMount);
  const ds = readYaml(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml')) as { datasources: { url: string }[] };
  assert.equal(ds.datasources[0]!.url, 'http://prometheus:9090');
});

test('Dockerfile: copies what exists, and the build context lets it in', () => {
  const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const ignore = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8');
  // From the build context (COPY --from=build copies the build stage's output, not the context).
  const copied = [...dockerfile.matchAll(/^COPY (?!--from=)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(copied.includes('src') && copied.includes('drizzle') && copied.includes('package-lock.json'));
  for (const c of copied) {
    assert.ok(existsSync(join(ROOT, c)), `COPY ${c}: no such file`);
    assert.ok(ignore.includes(`!${c}`), `Dockerfile.dockerignore keeps ${c} out of the context`);
  }
  assert.match(dockerfile, /^ENTRYPOINT \["node", "bin\/allin\.js"\]$/m);
});

// ------------------------------------------------------------------------------------------- Kubernetes

const MODELS: Record<string, new (data: Obj) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment as never,
  'v1/Service': Service as never,
  'v1/ConfigMap': ConfigMap as never,
  'v1/Secret': Secret as never,
  'v1/Namespace': Namespace as never,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as never,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as never,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as never,
  'batch/v1/Job': Job as never,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor as never,
};

interface K8s { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Obj; data?: Obj; stringData?: Obj }

function readManifests(): { file: string; doc: K8s }[] {
  const dir = join(DEPLOY, 'k8s');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => ({ file: f, doc: d.toJS() as K8s })));
}

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

test('Kubernetes manifests: valid against the Kubernetes API schemas (kubernetes-models)', () => {
  const manifests = readManifests();
  const kinds = manifests.map((m) => m.doc.kind);
  for (const k of ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'ServiceMonitor', 'ConfigMap', 'Secret']) {
    assert.ok(kinds.includes(k), `no ${k}`);
  }
  for (const { file, doc } of manifests) {
    const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    assert.ok(Model, `${file}: no schema for ${doc.apiVersion} ${doc.kind}`);
    assert.doesNotThrow(() => new Model(doc as unknown as Obj).validate(), `${file}: ${doc.kind} ${doc.metadata.name}`);
  }
  // The validator does refuse what the API server would.
  const bad = structuredClone(manifests.find((m) => m.doc.kind === 'Deployment')!.doc) as unknown as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
  bad.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'seven thousand';
  assert.throws(() => new Deployment(bad as never).validate(), /containerPort/);
  // Every manifest the kustomization lists exists (and the secret example is not applied by it).
  const kustomization = readYaml(join(DEPLOY, 'k8s', 'kustomization.yaml')) as { resources: string[] };
  for (const r of kustomization.resources) assert.ok(existsSync(join(DEPLOY, 'k8s', r)), `kustomization: ${r}`);
  assert.ok(!kustomization.resources.some((r) => r.includes('secret')));
});

test('Kubernetes manifests: probes, selectors, scaling and monitoring refer to each other correctly', () => {
  const manifests = readManifests().map((m) => m.doc);
  const of = (kind: string) => manifests.filter((m) => m.kind === kind);
  const deployments = of('Deployment') as unknown as (K8s & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: {
    containers: { args: string[]; ports: { name: string; containerPort: number }[]; envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
      livenessProbe: { httpGet: { path: string; port: string } }; readinessProbe: { httpGet: { path: string; port: string } } }[] } } } })[];
  assert.deepEqual(deployments.map((d) => d.spec.template.spec.containers[0]!.args[0]).sort(), ['serve', 'worker']);
  const configMap = of('ConfigMap')[0]!;
  const secret = of('Secret')[0]!;
  for (const d of deployments) {
    assert.ok(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), `${d.metadata.name}: selector`);
    const c = d.spec.template.spec.containers[0]!;
    const port = c.ports.find((p) => p.name === 'http')!;
    assert.equal(port.containerPort, c.args[0] === 'serve' ? 7000 : 7001);
    assert.deepEqual([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path], ['/health', '/api/health']);
    assert.equal(c.readinessProbe.httpGet.port, 'http');
    assert.deepEqual(c.envFrom.map((e) => e.configMapRef?.name ?? e.secretRef?.name), [configMap.metadata.name, secret.metadata.name]);
  }
  assert.equal(configMap.data!.WORKER_PORT, '7001');
  assert.equal(configMap.data!.PORT, '7000');
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'AUTH_SECRET', 'ENCRYPTION_KEYS', 'METRICS_TOKEN']) assert.ok(secret.stringData![key], `secret example: ${key}`);

  const services = of('Service') as unknown as (K8s & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } })[];
  for (const s of services) {
    const backs = deployments.filter((d) => matches(s.spec.selector, d.spec.template.metadata.labels));
    assert.equal(backs.length, 1, `Service ${s.metadata.name} selects one Deployment`);
    assert.ok(s.spec.ports.every((p) => backs[0]!.spec.template.spec.containers[0]!.ports.some((cp) => cp.name === p.targetPort)));
  }
  // Service names are the Prometheus job labels the rules use.
  assert.deepEqual(services.map((s) => s.metadata.name).sort(), ['allin-api', 'allin-worker']);

  for (const h of of('HorizontalPodAutoscaler') as unknown as (K8s & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number } })[]) {
    assert.ok(deployments.some((d) => d.metadata.name === h.spec.scaleTargetRef.name && h.spec.scaleTargetRef.kind === 'Deployment'), `HPA ${h.metadata.name}`);
    assert.ok(h.spec.minReplicas >= 2, 'at least two of each, so a PDB with minAvailable 1 lets nodes drain');
  }
  const pdbs = of('PodDisruptionBudget') as unknown as (K8s & { spec: { selector: { matchLabels: Record<string, string> } } })[];
  for (const d of deployments) assert.ok(pdbs.some((p) => matches(p.spec.selector.matchLabels, d.spec.template.metadata.labels)), `no PDB for ${d.metadata.name}`);

  const sm = of('ServiceMonitor')[0] as unknown as K8s & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string; authorization: { credentials: { name: string; key: string } } }[] } };
  for (const s of services) {
    assert.ok(matches(sm.spec.selector.matchLabels, s.metadata.labels), `ServiceMonitor misses ${s.metadata.name}`);
    assert.ok(s.spec.ports.some((p) => p.name === sm.spec.endpoints[0]!.port));
  }
  assert.equal(sm.spec.endpoints[0]!.path, '/metrics');
  assert.deepEqual(sm.spec.endpoints[0]!.authorization.credentials, { name: secret.metadata.name, key: 'METRICS_TOKEN' });
  for (const m of manifests) if (m.kind !== 'Namespace') assert.equal(m.metadata.namespace, 'allin', `${m.kind} ${m.metadata.name}: namespace`);
});

test('rules the dashboards need are recorded (the rules file loads them all)', () => {
  assert.equal(readRules().length, 2);
  assert.ok(recordingRuleNames().has('job_route:allin_http_request_duration_seconds:p95_rate5m'));
});
