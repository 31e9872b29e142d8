import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/schema';

/**
 * Small builders for the relaybench Grafana dashboards. Every panel and query reads from the
 * Prometheus chosen by the `datasource` template variable; every panel states its unit; panel
 * ids are assigned in order, unique per dashboard; the layout flows left to right on Grafana's
 * 24-column grid. The output is plain JSON typed by @grafana/schema (schemaVersion 42, Grafana 13).
 */
export const SCHEMA_VERSION = 42;
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** Per-run filters. `$run_id`/`$scenario` "All" is `.*` (matches series without the label too). */
export const RUN = 'run_id=~"$run_id", scenario=~"$scenario"';
/** Relay series: also one relay instance. `$gateway` "All" is `.+` (only series that have a gateway label). */
export const RELAY = `${RUN}, gateway=~"$gateway"`;

export interface Query {
  readonly expr: string;
  readonly legend?: string;
  /** Instant query (stat panels) instead of a range query. */
  readonly instant?: boolean;
  /** `heatmap` for bucket queries shown as a heatmap. */
  readonly format?: 'time_series' | 'heatmap';
}

export type PanelKind = 'timeseries' | 'stat' | 'heatmap';

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  /** A Grafana unit id (`s`, `bytes`, `short`, `percentunit`, `suffix: msg/s` …). Required. */
  readonly unit: string;
  readonly queries: readonly Query[];
  readonly kind?: PanelKind;
  /** Stacks the series (timeseries only). */
  readonly stack?: boolean;
  readonly w?: number;
  readonly h?: number;
  readonly min?: number;
  readonly decimals?: number;
  /** Stat panels: value → text mappings. */
  readonly mappings?: readonly { value: string; text: string; color: string }[];
  /** Stat panels: red at or above this value. */
  readonly redAt?: number;
  /** Heatmap y-axis unit (the bucket bounds); defaults to `s`. */
  readonly yUnit?: string;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class DashboardBuilder {
  readonly #panels: (Panel | RowPanel)[] = [];
  #nextId = 1;
  #x = 0;
  #y = 0;
  #rowHeight = 0;

  /** Starts a new (expanded) row with a title. */
  row(title: string): this {
    this.#newLine();
    this.#panels.push({ type: 'row', id: this.#nextId++, title, collapsed: false, panels: [], gridPos: { x: 0, y: this.#y, w: 24, h: 1 } });
    this.#y += 1;
    return this;
  }

  panel(spec: PanelSpec): this {
    const w = spec.w ?? 12;
    const h = spec.h ?? 8;
    if (this.#x + w > 24) this.#newLine();
    const gridPos = { x: this.#x, y: this.#y, w, h };
    this.#x += w;
    this.#rowHeight = Math.max(this.#rowHeight, h);
    this.#panels.push(buildPanel(this.#nextId++, spec, gridPos));
    return this;
  }

  #newLine(): void {
    if (this.#x > 0) this.#y += this.#rowHeight;
    this.#x = 0;
    this.#rowHeight = 0;
  }

  build(meta: { uid: string; title: string; description: string; variables: VariableModel[]; links?: Dashboard['links'] }): Dashboard {
    return {
      uid: meta.uid,
      title: meta.title,
      description: meta.description,
      tags: ['relaybench'],
      editable: true,
      graphTooltip: 1,
      schemaVersion: SCHEMA_VERSION,
      version: 1,
      time: { from: 'now-15m', to: 'now' },
      refresh: '5s',
      timezone: 'browser',
      fiscalYearStartMonth: 0,
      liveNow: false,
      links: meta.links ?? [
        {
          title: 'relaybench',
          type: 'dashboards',
          tags: ['relaybench'],
          asDropdown: true,
          includeVars: true,
          keepTime: true,
          icon: 'external link',
          targetBlank: false,
          tooltip: '',
          url: '',
        },
      ],
      templating: { list: meta.variables },
      panels: this.#panels,
    } satisfies Dashboard;
  }
}

function buildPanel(id: number, spec: PanelSpec, gridPos: { x: number; y: number; w: number; h: number }): Panel {
  const kind = spec.kind ?? 'timeseries';
  const targets = spec.queries.map((q, i) => ({
    refId: REF_IDS[i]!,
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend ?? '__auto',
    range: q.instant !== true,
    instant: q.instant === true,
    format: q.format ?? 'time_series',
    editorMode: 'code',
  }));
  const thresholds = {
    mode: 'absolute',
    steps: [{ color: 'green', value: null }, ...(spec.redAt === undefined ? [] : [{ color: 'red', value: spec.redAt }])],
  };
  const defaults: Record<string, unknown> = { unit: spec.unit, thresholds };
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.decimals !== undefined) defaults.decimals = spec.decimals;
  if (spec.mappings !== undefined) {
    defaults.mappings = [
      { type: 'value', options: Object.fromEntries(spec.mappings.map((m, i) => [m.value, { text: m.text, color: m.color, index: i }])) },
    ];
  }
  if (kind === 'timeseries') {
    defaults.color = { mode: 'palette-classic' };
    defaults.custom = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: spec.stack === true ? 60 : 10,
      showPoints: 'never',
      spanNulls: false,
      stacking: { mode: spec.stack === true ? 'normal' : 'none', group: 'A' },
      axisSoftMin: 0,
    };
  }
  const options =
    kind === 'timeseries'
      ? {
          legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['mean', 'max', 'lastNotNull'] },
          tooltip: { mode: 'multi', sort: 'desc' },
        }
      : kind === 'stat'
        ? {
            reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
            colorMode: 'value',
            graphMode: 'area',
            justifyMode: 'auto',
            textMode: 'auto',
            orientation: 'auto',
          }
        : {
            calculate: false,
            cellGap: 1,
            yAxis: { unit: spec.yUnit ?? 's', axisPlacement: 'left' },
            rowsFrame: { layout: 'auto' },
            color: { mode: 'scheme', scheme: 'Oranges', steps: 64, exponent: 0.5, fill: 'dark-orange', reverse: false },
            cellValues: { unit: spec.unit },
            tooltip: { mode: 'single', yHistogram: true, showColorScale: true },
            legend: { show: true },
            filterValues: { le: 1e-9 },
          };
  return {
    id,
    type: kind,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    targets,
    fieldConfig: { defaults, overrides: [] },
    options,
  };
}

/** The four template variables. `query` variables read label values from Prometheus. */
export function variables(which: { gateway: boolean }): VariableModel[] {
  const list: VariableModel[] = [
    {
      type: 'datasource',
      name: 'datasource',
      label: 'Prometheus',
      query: 'prometheus',
      hide: 0,
      refresh: 1,
      regex: '',
      includeAll: false,
      multi: false,
      options: [],
    },
    labelVariable('run_id', 'Run', 'label_values(up{role=~"relay|loadgen"}, run_id)', '.*'),
    labelVariable('scenario', 'Scenario', 'label_values(up{role=~"relay|loadgen", run_id=~"$run_id"}, scenario)', '.*'),
  ];
  if (which.gateway)
    list.push(labelVariable('gateway', 'Relay instance', 'label_values(relay_connections{run_id=~"$run_id"}, gateway)', '.+'));
  return list;
}

function labelVariable(name: string, label: string, definition: string, allValue: string): VariableModel {
  return {
    type: 'query',
    name,
    label,
    datasource: DATASOURCE,
    query: { qryType: 1, query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: { selected: true, text: ['All'], value: ['$__all'] },
    includeAll: true,
    allValue,
    multi: true,
    refresh: 2,
    sort: 1,
    regex: '',
    hide: 0,
    options: [],
  };
}

/** Description header of every generated dashboard (JSON has no comments). */
export function generatedNote(source: string): string {
  return `GENERATED from dashboards/src/${source} by \`npm run dashboards:generate\` — do not edit this JSON by hand; change the TypeScript and regenerate (a test compares them).`;
}
