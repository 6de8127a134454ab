/**
 * @packageDocumentation
 * Nebula lighthouse server and client, NebulaMeta codec, meta metrics
 */
export {};
