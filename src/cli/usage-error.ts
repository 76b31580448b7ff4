/** The commands' usage error (status 2); defined below the CLI so that the layers it calls can throw it too. */
export { UsageError } from '../usage-error.ts';
