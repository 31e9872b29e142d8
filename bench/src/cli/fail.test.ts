import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaClientError } from '../../../relay/kafka/src/errors.js';
import { distError } from '../distributed/errors.js';
import { gateError } from '../gate/errors.js';
import { runError } from '../orchestrator/errors.js';
import { loadgenError } from '../../../loadgen/src/errors.js';
import { ExitCode } from './exit-codes.js';
import { exitCodeFor } from './fail.js';

test('exit codes: infrastructure 3, bad input 2, interrupted 130, a bug 4', () => {
  assert.equal(exitCodeFor(runError('RB_RUN_INFRA_RELAY', 'x')), ExitCode.INFRA);
  assert.equal(exitCodeFor(runError('RB_RUN_BAD_OPTION', 'x')), ExitCode.INVALID);
  assert.equal(exitCodeFor(runError('RB_RUN_INTERRUPTED', 'x')), ExitCode.INTERRUPTED);
  assert.equal(exitCodeFor(distError('RB_DIST_WORKER_LOST', 'x')), ExitCode.INFRA);
  assert.equal(exitCodeFor(distError('RB_DIST_NO_ASSIGNMENT', 'x')), ExitCode.INFRA);
  assert.equal(exitCodeFor(distError('RB_DIST_BAD_OPTION', 'x')), ExitCode.INVALID);
  assert.equal(exitCodeFor(gateError('RB_GATE_TRIAL_FAILED', 'x')), ExitCode.INFRA);
  assert.equal(exitCodeFor(gateError('RB_GATE_BAD_BUILD', 'x')), ExitCode.INVALID);
  assert.equal(exitCodeFor(new Error('boom')), ExitCode.INTERNAL);
  assert.equal(
    exitCodeFor(kafkaClientError('RB_KCLIENT_UNKNOWN', 'x')),
    ExitCode.INVALID,
    'RELAYBENCH_KAFKA_CLIENT names no client: bad input',
  );
  assert.equal(exitCodeFor(kafkaClientError('RB_KCLIENT_CONNECT', 'x')), ExitCode.INFRA);
  // A worker whose relays do not answer failed on infrastructure; one refused at hello was given a wrong secret.
  assert.equal(exitCodeFor(loadgenError('RB_LOADGEN_ROUTES', 'x')), ExitCode.INFRA);
  assert.equal(exitCodeFor(loadgenError('RB_LOADGEN_CONNECT', 'x')), ExitCode.INFRA);
  assert.equal(exitCodeFor(loadgenError('RB_LOADGEN_HANDSHAKE', 'x')), ExitCode.INVALID);
  assert.equal(exitCodeFor(loadgenError('RB_LOADGEN_BAD_FLAG', 'x')), ExitCode.INVALID);
});
