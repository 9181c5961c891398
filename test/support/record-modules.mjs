// A `node --import` hook that records every module the process loads, one file: URL or path a
// line, appended to the file named by AH_RECORD_MODULES as each module loads. ES modules come
// through a loader hook (Node runs it on its own thread), CommonJS through Module._load, which
// every require() calls. Used by test/integration/startup-modules.test.ts and bench:footprint to
// check what an executor's start-up path loads.

import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import process from 'node:process';

const out = process.env.AH_RECORD_MODULES;
if (out) {
  const record = (file) => {
    try {
      appendFileSync(out, `${file}\n`);
    } catch {
      // The recording must never change what the process does.
    }
  };
  // ES modules (and CommonJS modules imported from them).
  register(
    `data:text/javascript,${encodeURIComponent(`
      import { appendFileSync } from 'node:fs';
      import { fileURLToPath } from 'node:url';
      let out;
      export function initialize(data) { out = data.out; }
      export async function load(url, context, next) {
        if (url.startsWith('file:')) try { appendFileSync(out, fileURLToPath(url) + '\\n'); } catch {}
        return next(url, context);
      }
    `)}`,
    { data: { out } },
  );
  // CommonJS required from CommonJS.
  const original = Module._load;
  const seen = new Set();
  Module._load = function load(request, parent, isMain) {
    if (!request.startsWith('node:')) {
      try {
        const file = Module._resolveFilename(request, parent, isMain);
        if (!seen.has(file) && file.startsWith('/')) {
          seen.add(file);
          record(file);
        }
      } catch {
        // Not resolvable: the real load reports it.
      }
    }
    return original.apply(this, arguments);
  };
}
