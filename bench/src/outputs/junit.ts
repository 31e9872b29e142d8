// junit.xml: each objective of each segment is a test case; a failed objective is a <failure>,
// an invalid run adds a failing `run validity` case. CI systems render it as a test report.
import { formatValue } from '../gate/evaluate.js';
import { junitDocument, xml } from './junit-xml.js';
import type { RunOutput } from './output.js';

export const junitOutput: RunOutput = {
  name: 'junit',
  file: 'junit.xml',
  render({ summary: s }) {
    const seconds = (s.segments.reduce((a, x) => a + (x.endedMs - x.startedMs), 0) / 1000).toFixed(3);
    const cases: string[] = [];
    cases.push(
      `    <testcase classname="relaybench.${xml(s.scenario.name)}" name="run validity" time="0">` +
        (s.valid ? '' : `\n      <failure message="invalid run" type="invalid">${xml(s.invalidReasons.join('\n'))}</failure>\n    `) +
        '</testcase>',
    );
    for (const v of s.objectives) {
      const head = `    <testcase classname="relaybench.${xml(s.scenario.name)}.${xml(v.segment)}" name="${xml(v.objective)}" time="0">`;
      const body = v.pass
        ? ''
        : `\n      <failure message="${xml(`${v.metric} was ${formatValue(v.kind, v.actual)}, objective ${v.objective}`)}" type="objective">${xml(v.note ?? '')}</failure>\n    `;
      cases.push(`${head}${body}</testcase>`);
    }
    return junitDocument({ suites: 'relaybench', suite: s.scenario.name, seconds, timestamp: s.createdAt, cases });
  },
};
