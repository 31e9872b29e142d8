// The JUnit XML envelope shared by a run's junit.xml and the gate's: one suite of test cases,
// failures counted from the cases themselves so the totals cannot disagree with the body.

export function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** `cases` are rendered `<testcase …>` elements (indented by 4); a case failed when it holds a `<failure`. */
export function junitDocument(o: { suites: string; suite: string; seconds: string; timestamp: string; cases: readonly string[] }): string {
  const failures = o.cases.filter((c) => c.includes('<failure')).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(o.suites)}" tests="${o.cases.length}" failures="${failures}" time="${o.seconds}">`,
    `  <testsuite name="${xml(o.suite)}" tests="${o.cases.length}" failures="${failures}" errors="0" time="${o.seconds}" timestamp="${xml(o.timestamp)}">`,
    ...o.cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
