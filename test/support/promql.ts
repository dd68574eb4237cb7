// What the operations files (deploy/) refer to, for tests that hold them against the running server: the
// metric names in a PromQL expression, the rules in deploy/prometheus/rules, the panels of the dashboards,
// and the metric names a /metrics page really exports.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './process.ts';

export const DEPLOY = join(ROOT, 'deploy');
export const RULE_FILES = ['allin-recording.yml', 'allin-alerts.yml'].map((f) => join(DEPLOY, 'prometheus', 'rules', f));

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup { name: string; interval?: string; rules: Rule[] }

export function readRules(): { file: string; groups: RuleGroup[] }[] {
  return RULE_FILES.map((file) => ({ file, groups: (parse(readFileSync(file, 'utf8')) as { groups: RuleGroup[] }).groups }));
}

export const allRules = (): Rule[] => readRules().flatMap((f) => f.groups.flatMap((g) => g.rules));
export const recordingRuleNames = (): Set<string> => new Set(allRules().flatMap((r) => (r.record ? [r.record] : [])));

/** Series Prometheus itself adds to every scrape, or makes from rules. */
export const PROMETHEUS_BUILTINS = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added', 'ALERTS', 'ALERTS_FOR_STATE']);

const NOT_NAMES = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan', 'atan2']);

/**
 * The metric names a PromQL expression reads. Strings, label matchers, ranges, grouping clauses and Grafana
 * variables are removed first; what is left that looks like a name and is not followed by "(" (a function
 * or aggregation) is a metric name.
 */
export function metricNames(expr: string): Set<string> {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  e = e.replace(/\{[^}]*\}/g, ' ');
  e = e.replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  e = e.replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of e.matchAll(/(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:])(\s*\()?/g)) {
    if (m[2] || NOT_NAMES.has(m[1]!.toLowerCase())) continue;
    names.add(m[1]!);
  }
  return names;
}

/** Every name a /metrics page makes queryable: families, with _bucket/_sum/_count for histograms and summaries. */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  for (const m of text.matchAll(/^([a-zA-Z_:][\w:]*)[{ ]/gm)) names.add(m[1]!);
  return names;
}

export interface Dashboard {
  file: string;
  json: {
    uid: string;
    title: string;
    panels: Panel[];
    templating?: { list: { name: string; query?: string | { query: string }; datasource?: { uid: string } }[] };
  };
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

export function readDashboards(): Dashboard[] {
  const dir = join(DEPLOY, 'grafana', 'dashboards');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ file: join(dir, f), json: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Dashboard['json'] }));
}

export const allPanels = (d: Dashboard): Panel[] => d.json.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

/** Every PromQL expression of a dashboard, with where it is, templating queries included. */
export function dashboardExpressions(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of allPanels(d)) for (const t of p.targets ?? []) out.push({ where: `${d.json.uid} / ${p.title} / ${t.refId}`, expr: t.expr });
  for (const v of d.json.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (!q) continue;
    const lv = /^label_values\((.*),\s*\w+\s*\)$/.exec(q.trim());
    out.push({ where: `${d.json.uid} / variable ${v.name}`, expr: lv ? lv[1]! : q });
  }
  return out;
}
