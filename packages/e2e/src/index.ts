/**
 * @packageDocumentation
 * The project's own network-namespace harness for e2e and interop tests.
 */
export { requireBinary, requireGoNebula, requireRoot } from './require.js';
