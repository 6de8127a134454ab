/**
 * @packageDocumentation
 * A Nebula node: host map, handshake manager, encrypted data path, routines
 */
export {};
