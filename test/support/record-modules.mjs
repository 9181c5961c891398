// A `node --import` hook that records every module the process loads, one path a line (a Node
// built-in as `node:<name>`, perhaps twice: imported and required), appended to the file named by
// AH_RECORD_MODULES as each module loads. ES modules come
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
        try {
          if (url.startsWith('file:')) appendFileSync(out, fileURLToPath(url) + '\\n');
          else if (url.startsWith('node:')) appendFileSync(out, url + '\\n');
        } catch {}
        return next(url, context);
      }
    `)}`,
    { data: { out } },
  );
  // CommonJS required from CommonJS.
  const original = Module._load;
  const seen = new Set();
  Module._load = function load(request, parent, isMain) {
    if (Module.isBuiltin(request)) {
      const name = request.startsWith('node:') ? request : `node:${request}`;
      if (!seen.has(name)) {
        seen.add(name);
        record(name);
      }
    } else {
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
