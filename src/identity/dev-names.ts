// The dev identity's names, apart from dev.ts so that knowing them (the executor pins the dev
// access point's SPIFFE ID) does not load the dev CA and its certificate generator.

export const DEV_TRUST_DOMAIN = 'ah-dev.local';
export const DEV_SERVER_ID = `spiffe://${DEV_TRUST_DOMAIN}/ah/serve`;
export const DEV_EXECUTOR_PREFIX = `spiffe://${DEV_TRUST_DOMAIN}/ah/agent/`;

/** A SPIFFE path segment from a friendly name: letters, digits, dot, dash and underscore only. */
export function devExecutorId(name: string): string {
  const segment = name.replace(/[^a-zA-Z0-9._-]/g, '-').replace(/^\.+$/, 'executor') || 'executor';
  return `${DEV_EXECUTOR_PREFIX}${segment}`;
}
