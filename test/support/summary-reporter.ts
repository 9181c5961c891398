// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary, so a
// CI log reader that knows no vitest output can still tell how many tests ran. A file that failed
// outside its tests (a failing beforeAll/afterAll, an import error) and an unhandled error each
// count as one failure, named on a line of its own, and so does a run that ended interrupted or
// failed for no file's fault: a red run must never read "0 failed". The line before it names the
// Node and OpenSSL the tests ran on (.ci/run checks that each leg ran on its own node).

import type { SerializedError } from 'vitest';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError> = [],
    reason: TestRunEndReason = 'passed',
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const outside: string[] = [];
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failedHere += 1;
        else skipped += 1;
      }
      failed += failedHere;
      if (module.state() === 'failed' && failedHere === 0) {
        failed += 1;
        outside.push(`failed outside its tests: ${module.moduleId}`);
      }
    }
    for (const error of unhandledErrors) {
      failed += 1;
      outside.push(`unhandled error: ${error.message ?? JSON.stringify(error)}`);
    }
    // An interrupted run, or one that failed for no file's fault, is not a green one either.
    if (reason !== 'passed' && failed === 0) {
      failed += 1;
      outside.push(`test run ${reason}`);
    }
    const details = outside.map((line) => `${line}\n`).join('');
    const runtime = `tests ran on node ${process.version}, OpenSSL ${process.versions.openssl}\n`;
    process.stdout.write(`\n${details}${runtime}${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
