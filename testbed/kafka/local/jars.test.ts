import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkJava, javaBinary, javaVersionText } from './jars.js';

test('the brokers run on $JAVA_HOME/bin/java when JAVA_HOME is set, else on java from PATH', () => {
  assert.equal(javaBinary({ JAVA_HOME: '/usr/lib/jvm/temurin-25-jdk-amd64' }), join('/usr/lib/jvm/temurin-25-jdk-amd64', 'bin', 'java'));
  assert.equal(javaBinary({}), 'java');
  assert.equal(javaBinary({ JAVA_HOME: '' }), 'java', 'an empty JAVA_HOME is unset, as in a shell');
});

test('a java that does not run has no version text, and the check refuses it with RB_KAFKA_JAVA_MISSING', () => {
  assert.equal(javaVersionText('/nonexistent/bin/java'), undefined);
  assert.throws(() => checkJava('/nonexistent/bin/java'), /RB_KAFKA_JAVA_MISSING|Tried \/nonexistent\/bin\/java/);
});
