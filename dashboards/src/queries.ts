import type { Dashboard, Panel, RowPanel } from '@grafana/schema';

/**
 * Reads the queries back out of a dashboard (for the tests, and for anyone who wants to run a
 * dashboard's PromQL by hand) and expands Grafana's variables the way Grafana would.
 */
export interface PanelQuery {
  readonly dashboard: string;
  readonly panelId: number;
  readonly panelTitle: string;
  readonly refId: string;
  readonly expr: string;
  readonly instant: boolean;
  readonly format: string;
}

/** Every non-row panel, including panels nested in collapsed rows. */
export function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === 'row') out.push(...((p as RowPanel).panels ?? []));
    else out.push(p as Panel);
  }
  return out;
}

export function panelQueries(d: Dashboard): PanelQuery[] {
  return allPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      dashboard: d.title ?? d.uid ?? '?',
      panelId: p.id ?? -1,
      panelTitle: p.title ?? '',
      refId: String(t.refId ?? ''),
      expr: String(t.expr ?? ''),
      instant: t.instant === true,
      format: String(t.format ?? 'time_series'),
    })),
  );
}

/** `label_values(selector, label)` of each query variable, as { name, selector, label }. */
export function variableQueries(d: Dashboard): { name: string; selector: string; label: string }[] {
  const out: { name: string; selector: string; label: string }[] = [];
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : String((v.query as { query?: unknown } | undefined)?.query ?? '');
    const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q.trim());
    if (m === null) throw new Error(`variable ${v.name}: unsupported query ${q}`);
    out.push({ name: v.name, selector: m[1]!, label: m[2]! });
  }
  return out;
}

export interface Expansion {
  /** Template variable values, already in regex form for multi-value (e.g. `r1|r2`, `.*`). */
  readonly variables: Readonly<Record<string, string>>;
  /** `$__rate_interval`, `$__interval`, `$__range` as PromQL durations. */
  readonly rateInterval: string;
  readonly interval: string;
  readonly range: string;
}

/** Replaces `$name`, `${name}` and `[[name]]`, and Grafana's built-in interval variables. */
export function expand(text: string, e: Expansion): string {
  const builtins: Record<string, string> = {
    __rate_interval: e.rateInterval,
    __interval: e.interval,
    __range: e.range,
    __range_s: String(durationSeconds(e.range)),
    __interval_ms: String(durationSeconds(e.interval) * 1000),
  };
  const value = (name: string): string => {
    const v = builtins[name] ?? e.variables[name];
    if (v === undefined) throw new Error(`no value for variable $${name} in ${text}`);
    return v;
  };
  return text
    .replace(/\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}/g, (_, n: string) => value(n))
    .replace(/\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]/g, (_, n: string) => value(n))
    .replace(/\$([a-zA-Z_][a-zA-Z0-9_]*)/g, (_, n: string) => value(n));
}

/** Names of the variables a text references (built-ins excluded). */
export function referencedVariables(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{([a-zA-Z_][a-zA-Z0-9_]*)|\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]|\$([a-zA-Z_][a-zA-Z0-9_]*)/g)) {
    const n = m[1] ?? m[2] ?? m[3]!;
    if (!n.startsWith('__')) names.add(n);
  }
  return [...names];
}

/** Labels a PromQL expression aggregates by (`by (...)`) or keeps (`without (...)`). */
export function groupingLabels(expr: string): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const l of m[1]!.split(',')) if (l.trim() !== '') out.push(l.trim());
  }
  return out;
}

/** Metric names an expression reads (identifiers followed by `{` or a range/space that are not functions). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)) names.add(m[1]!);
  return [...names];
}

function durationSeconds(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (m === null) throw new Error(`unsupported duration ${d}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : n * 3600;
}
