// The dependency graph of relaybench, enforced (`npm run deps`, part of `make lint`) and drawn
// (`npm run deps:graph` → docs/architecture.md). An import that no `allowed` rule names fails.
//
//   relay/protocol   the wire format; depends on nothing in the project
//   relay/kafka      the Kafka adapter; only relay/protocol (its errors)
//   relay/src        the relay; relay/protocol + relay/kafka
//   loadgen/src      the load generator; relay/protocol only — except the kafka-direct reference
//                    driver, which measures Kafka without the relay and must use the very adapter
//                    the relay uses, so the two targets differ by the relay and nothing else
//   testbed          what a run stands on: Kafka provisioning, process supervision, the protocol
//                    fuzzer; used by relay, loadgen and bench tests and by bench itself
//   bench            the CLI and orchestrator; may use everything; nothing imports bench
//   dashboards/src   generated Grafana dashboards; self-contained
//   tests            each package's tests use their package, the packages below it, testbed and
//                    the shared test/helpers; never bench
const path = (...dirs) => `^(${dirs.join('|')})`;

const PROTOCOL = 'relay/protocol/';
const ADAPTER = 'relay/kafka/';
const RELAY = 'relay/src/';
const LOADGEN = 'loadgen/src/';
const TESTBED = 'testbed/';
const HELPERS = 'test/helpers/';
const LOADGEN_HELPERS = 'loadgen/test/helpers/';
const DASHBOARDS = 'dashboards/src/';

/** from → to, one line of the graph. */
const allow = (comment, from, to) => ({ comment, from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes load order matter and hides which module owns what.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'test-support-only-in-tests',
      comment: 'The in-memory Kafka and the test relay are for tests; production code never loads them.',
      severity: 'error',
      from: { pathNot: '(\\.test\\.ts$|^[^/]+/test/|^test/|/test-support/)' },
      to: { path: '(/test-support/|^relay/test/support/)' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing is a broken build waiting for tsc.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  allowedSeverity: 'error',
  allowed: [
    {
      comment: 'Node built-ins and npm packages',
      from: {},
      to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer'] },
    },
    allow('relay/protocol is self-contained', path(PROTOCOL), path(PROTOCOL)),
    allow('the Kafka adapter uses the protocol package for its errors', path(ADAPTER), path(ADAPTER, PROTOCOL)),
    allow('the relay', path(RELAY), path(RELAY, ADAPTER, PROTOCOL)),
    allow(
      'relay unit tests run a relay over the in-memory adapter (relay/kafka/test-support) with the shared test client',
      '^relay/src/.*\\.test\\.ts$',
      path('relay/test/support/', HELPERS),
    ),
    allow('the loadgen talks to the relay through relay/protocol only', path(LOADGEN), path(LOADGEN, PROTOCOL)),
    allow(
      "the kafka-direct reference driver uses the relay's adapter (see the header)",
      '^loadgen/src/driver/kafka-direct-driver\\.ts$',
      path(ADAPTER),
    ),
    allow('loadgen unit tests beside the code use the loadgen test helpers', '^loadgen/src/.*\\.test\\.ts$', path(LOADGEN_HELPERS)),
    allow('testbed: what relay, loadgen and bench runs stand on', path(TESTBED), path(TESTBED, PROTOCOL, ADAPTER)),
    allow(
      "the fuzzer draws its cases from the loadgen's seeded PRNG (same seed → same run)",
      path(`${TESTBED}fuzz/`),
      '^loadgen/src/rate/prng\\.ts$',
    ),
    allow('shared test helpers', path(HELPERS), path(HELPERS, TESTBED, PROTOCOL, ADAPTER)),
    allow('repository-wide tests', '^test/', path('test/')),
    allow('relay tests', '^relay/test/', path('relay/test/', RELAY, ADAPTER, PROTOCOL, TESTBED, HELPERS)),
    allow('relay tests drive a loadgen worker as a client (volume under fuzz)', '^relay/test/', path(LOADGEN, LOADGEN_HELPERS)),
    allow('loadgen tests and micro-benchmarks', '^loadgen/(test|bench)/', path('loadgen/', PROTOCOL, TESTBED, HELPERS)),
    allow('bench uses everything', '^bench/', path('bench/', RELAY, ADAPTER, PROTOCOL, LOADGEN, TESTBED)),
    allow('bench tests and benchmarks use the shared helpers too', '^bench/(test|benchmarks)/', path(HELPERS, LOADGEN_HELPERS)),
    allow('dashboards are self-contained', path(DASHBOARDS), path(DASHBOARDS)),
    allow(
      'dashboard tests check the dashboards against what the relay and loadgen export',
      '^dashboards/test/',
      path('dashboards/', RELAY, PROTOCOL, LOADGEN, TESTBED, HELPERS),
    ),
    allow(
      "dashboard tests query the Prometheus the bench runs (its config, server and cross-check are bench's own)",
      '^dashboards/test/',
      '^bench/src/prometheus/',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|results)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: {
      dot: {
        collapsePattern:
          '^(relay/protocol|relay/kafka|relay/src|relay/test|loadgen/src|loadgen/test|loadgen/bench|testbed|bench/src|bench/test|bench/benchmarks|test|dashboards/src|dashboards/test|node_modules/[^/]+)/',
      },
      archi: {
        collapsePattern:
          '^(relay/protocol|relay/kafka|relay/src|relay/test|loadgen/src|loadgen/test|loadgen/bench|testbed|bench/src|bench/test|bench/benchmarks|test|dashboards/src|dashboards/test)/',
      },
    },
  },
};
