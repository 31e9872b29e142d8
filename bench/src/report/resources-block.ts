// The report's "Resources" section: CPU and peak RSS per process role, per segment.
import { countersLine, mb, switchesText, type ResourceUsage } from '../resources/accounting.js';
import type { RunSummary } from '../results/summary.js';

export function resourcesBlock(s: RunSummary, esc: (t: string) => string): string {
  const segs = s.segments.filter((x): x is typeof x & { resources: ResourceUsage } => x.resources !== undefined);
  if (segs.length === 0) return '';
  const us = (x: number | null) => (x === null ? 'n/a' : Math.round(x).toLocaleString('en-US'));
  const rows = segs.flatMap((seg) => {
    const r = seg.resources;
    const label = `${esc(seg.name)} <span class="muted">${Math.round(r.windowMs / 1000)} s · ${r.deliveredMessages} delivered</span>`;
    return [
      ...r.processes.map(
        (p) =>
          `<tr><td>${label}</td><td>${p.role}</td><td>${esc(p.name)} <span class="muted">pid ${p.pid}</span></td><td class="n">${p.cores.toFixed(3)}</td><td class="n">${us(p.cpuUsPerMessage)}</td><td class="n">${switchesText(p.switchesPerMessage)}</td><td class="n">${mb(p.peakRssBytes)}</td></tr>`,
      ),
      `<tr><td>${label}</td><td><b>total</b></td><td>${r.processes.length} processes${r.machineCores === null ? '' : ` · whole machine ${r.machineCores.toFixed(3)} cores`}</td><td class="n"><b>${r.total.cores.toFixed(3)}</b></td><td class="n"><b>${us(r.total.cpuUsPerMessage)}</b></td><td class="n"><b>${switchesText(r.total.switchesPerMessage)}</b></td><td></td></tr>`,
    ];
  });
  const counters = segs.map((seg) => [seg.name, countersLine(seg.resources)] as const).filter(([, line]) => line !== undefined);
  return `<section><h2>Resources per process</h2>
<table><thead><tr><th>segment</th><th>role</th><th>process</th><th class="n">CPU (cores)</th><th class="n">CPU µs / delivered msg</th><th class="n">context switches / msg</th><th class="n">peak RSS</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
${counters.map(([name, line]) => `<p>${esc(name)} — relays' counters ${esc(line!)}</p>`).join('\n')}
<p class="muted">utime + stime from /proc/&lt;pid&gt;/stat at the measured window's edges (warm-up end → send end); context switches = voluntary + involuntary of all the process' threads (/proc/&lt;pid&gt;/task/*/status); on a VM each wake-up has a price of its own (docs/architecture.md). Peak RSS = VmHWM (the process' lifetime peak). Whole machine = every process on the host (/proc/stat), the run's or not.</p></section>`;
}
